// Entry point: reads how the page was opened, then renders the app into #app.

import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { parseSession } from './api';
import { App, ticketFromPath } from './App';
import type { Boot } from './App';

function readBoot(): Boot {
  const el = document.getElementById('debrief-session');
  let signed = null;
  if (el) {
    try {
      signed = parseSession(JSON.parse(el.textContent ?? ''));
    } catch {
      signed = null;
    }
    // The token now lives in the Api object only; not left lying in the DOM.
    el.remove();
  }
  return { signed, pathTicket: ticketFromPath(window.location.pathname) };
}

const root = document.getElementById('app');
if (root) render(<App boot={readBoot()} />, root);
