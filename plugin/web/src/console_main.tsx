// Entry point of the leads' and admins' pages (/app/insights): its own bundle, so the agents'
// sidebar never loads the charting library.

import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { Console } from './Console';

const root = document.getElementById('app');
if (root) render(<Console />, root);
