// The standalone page's forms: sign in with an API token, and open a ticket by its ids.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError, signIn } from './api';
import type { Session, TicketRef } from './types';

export function SignIn(props: { notice?: string; onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(e: Event) {
    e.preventDefault();
    const t = token.trim();
    if (t === '') {
      setError('Paste your Debrief API token first.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const s = await signIn(t);
      setToken('');
      props.onSignedIn(s);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) {
        setError('Debrief did not accept that API token. Check it and try again.');
      } else if (err instanceof ApiError && err.status === 403) {
        setError('That API token may not open the sidebar. Ask an admin for an agent token.');
      } else {
        setError(describeError(err, 'sign you in'));
      }
    }
  }

  return (
    <section class="card" aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign in</h2>
      {props.notice && (
        <p class="notice" role="alert">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit} aria-labelledby="sign-in-heading">
        <label for="api-token">API token</label>
        <input
          id="api-token"
          ref={input}
          type="password"
          autocomplete="off"
          spellcheck={false}
          aria-describedby="api-token-hint"
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
        <p id="api-token-hint" class="hint">
          A Debrief admin makes one for you. It is kept in this page only: reloading the page signs
          you out.
        </p>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p class="error-text" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

export function OpenTicket(props: { helpdeskId: string; onOpen: (t: TicketRef) => void }) {
  const [helpdeskId, setHelpdeskId] = useState(props.helpdeskId);
  const [ticketId, setTicketId] = useState('');
  const [error, setError] = useState('');
  function submit(e: Event) {
    e.preventDefault();
    const t = { helpdeskId: helpdeskId.trim(), ticketId: ticketId.trim() };
    if (t.helpdeskId === '' || t.ticketId === '') {
      setError('Give both the helpdesk id and the ticket id.');
      return;
    }
    props.onOpen(t);
  }
  return (
    <section class="card" aria-labelledby="open-heading">
      <h2 id="open-heading">Open a ticket</h2>
      <form onSubmit={submit} aria-labelledby="open-heading">
        <label for="open-helpdesk">Helpdesk id</label>
        <input
          id="open-helpdesk"
          type="text"
          autocomplete="off"
          aria-describedby="open-helpdesk-hint"
          value={helpdeskId}
          onInput={(e) => setHelpdeskId((e.currentTarget as HTMLInputElement).value)}
        />
        <p id="open-helpdesk-hint" class="hint">
          As configured in Debrief, e.g. “support”.
        </p>
        <label for="open-ticket">Ticket id</label>
        <input
          id="open-ticket"
          type="text"
          autocomplete="off"
          value={ticketId}
          onInput={(e) => setTicketId((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="primary">
          Open
        </button>
        {error && (
          <p class="error-text" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
