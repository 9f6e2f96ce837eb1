// The page: who is signed in, which ticket, and the five sections of the panel.
//
// Two ways in. Signed by the helpdesk: debriefd answered the helpdesk's sign-in POST with this
// page and a <script id="debrief-session"> holding a session (and usually the ticket); when the
// session ends, the agent reopens the ticket. Standalone, /app/ticket/{helpdesk}/{ticket} or
// /app/: the agent signs in with an API token; when the session ends, they sign in again.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api } from './api';
import { Journey, Similar } from './Journey';
import { LinkedTask } from './LinkedTask';
import { useLoad } from './load';
import { ReviewNext } from './ReviewNext';
import { RootCause } from './RootCause';
import { OpenTicket, SignIn } from './SignIn';
import type {
  Category,
  GetTicketResponse,
  ListCategoriesResponse,
  Session,
  TicketRef,
} from './types';
import { Panel, ErrorNote } from './ui';
import { followHeight, inZendesk, zendeskTicketId } from './zendesk';

export interface Boot {
  signed: Session | null; // from the helpdesk-signed page
  pathTicket: TicketRef | null; // from /app/ticket/{helpdeskId}/{ticketId}
}

const kTicketPath = /^\/app\/ticket\/([^/]+)\/([^/]+)\/?$/;

export function ticketFromPath(pathname: string): TicketRef | null {
  const m = kTicketPath.exec(pathname);
  if (!m) return null;
  try {
    const helpdeskId = decodeURIComponent(m[1] ?? '');
    const ticketId = decodeURIComponent(m[2] ?? '');
    return helpdeskId && ticketId ? { helpdeskId, ticketId } : null;
  } catch {
    return null;
  }
}

export function ticketPath(t: TicketRef): string {
  return `/app/ticket/${encodeURIComponent(t.helpdeskId)}/${encodeURIComponent(t.ticketId)}`;
}

interface Signed {
  api: Api;
  session: Session;
}

export function App(props: { boot: Boot }) {
  const helpdeskSigned = props.boot.signed !== null;
  const onEnded = useRef<() => void>(() => {});
  const start = (s: Session): Signed => ({ api: new Api(s, () => onEnded.current()), session: s });
  const [signed, setSigned] = useState<Signed | null>(() =>
    props.boot.signed ? start(props.boot.signed) : null,
  );
  const [ended, setEnded] = useState(false);
  onEnded.current = () => {
    setEnded(true);
    setSigned(null);
  };

  const [pathTicket, setPathTicket] = useState(props.boot.pathTicket);
  useEffect(() => {
    const onPop = () => setPathTicket(ticketFromPath(window.location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => followHeight(), []);

  function signOut() {
    signed?.api.stop();
    setSigned(null);
    setEnded(false);
  }

  let body;
  if (helpdeskSigned) {
    body =
      ended || signed === null ? (
        <div class="card ended" role="alert">
          <p>Your session has ended; reopen the ticket.</p>
        </div>
      ) : (
        <HelpdeskTicket signed={signed} pathTicket={pathTicket} />
      );
  } else if (signed === null) {
    body = (
      <SignIn
        notice={ended ? 'Your session has ended. Sign in again.' : undefined}
        onSignedIn={(s) => {
          setEnded(false);
          setSigned(start(s));
        }}
      />
    );
  } else if (pathTicket === null) {
    body = (
      <OpenTicket
        helpdeskId={signed.session.helpdeskId}
        onOpen={(t) => {
          window.history.pushState(null, '', ticketPath(t));
          setPathTicket(t);
        }}
      />
    );
  } else {
    body = <TicketPanel key={ticketPath(pathTicket)} api={signed.api} ticket={pathTicket} />;
  }

  return (
    <>
      <header class="top">
        <h1>Debrief</h1>
        {signed && (
          <p class="who">
            <span>Signed in as {signed.session.name || 'you'}</span>
            {!helpdeskSigned && (
              <button type="button" class="link-button" onClick={signOut}>
                Sign out
              </button>
            )}
          </p>
        )}
      </header>
      <main id="main">{body}</main>
    </>
  );
}

// The ticket of a helpdesk-signed page: the session's, else the URL's, else Zendesk's.
function HelpdeskTicket(props: { signed: Signed; pathTicket: TicketRef | null }) {
  const { session, api } = props.signed;
  const given: TicketRef | null =
    session.helpdeskId && session.ticketId
      ? { helpdeskId: session.helpdeskId, ticketId: session.ticketId }
      : props.pathTicket;
  const zendesk = given === null && session.helpdeskId !== '' && inZendesk();
  const asked = useLoad<TicketRef | null>(
    async () =>
      zendesk ? { helpdeskId: session.helpdeskId, ticketId: await zendeskTicketId() } : null,
    [zendesk],
  );
  const ticket = given ?? asked.data ?? null;
  if (ticket) return <TicketPanel key={ticketPath(ticket)} api={api} ticket={ticket} />;
  if (zendesk && asked.error === undefined) {
    return (
      <div class="card">
        <p class="hint">Asking Zendesk which ticket this is…</p>
      </div>
    );
  }
  if (zendesk) {
    return (
      <div class="card">
        <ErrorNote
          error={asked.error}
          what="learn from Zendesk which ticket this is"
          onRetry={asked.reload}
        />
      </div>
    );
  }
  return (
    <div class="card ended" role="alert">
      <p>Debrief could not tell which ticket this is; reopen the ticket.</p>
    </div>
  );
}

function TicketPanel(props: { api: Api; ticket: TicketRef }) {
  const { api, ticket } = props;
  const tick = useLoad(() => api.call<GetTicketResponse>('Tickets', 'GetTicket', { ticket }), []);
  const cats = useLoad(() => api.call<ListCategoriesResponse>('Tagging', 'ListCategories', {}), []);
  const [version, setVersion] = useState(0);
  const categories = useMemo(
    () => new Map<string, Category>((cats.data?.categories ?? []).map((c) => [c.id, c])),
    [cats.data],
  );
  const context = useMemo(() => ({ api, ticket, categories }), [api, ticket, categories]);
  const onChanged = () => {
    tick.reload();
    setVersion((v) => v + 1);
  };
  const t = tick.data?.ticket;
  return (
    <Panel.Provider value={context}>
      <p class="ticket-line">
        <span class="muted">
          {ticket.helpdeskId} #{ticket.ticketId}
        </span>
        {t?.subject && <span class="ticket-subject">{t.subject}</span>}
      </p>
      <RootCause ticket={tick} categories={cats} onChanged={onChanged} />
      <LinkedTask ticket={tick} onChanged={onChanged} />
      <Journey version={version} />
      <Similar version={version} />
      <ReviewNext version={version} />
    </Panel.Provider>
  );
}
