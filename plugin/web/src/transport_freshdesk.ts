// The panel inside Freshdesk's ticket sidebar (deploy/apps/freshdesk/, Freshworks platform 3.0).
//
// Freshworks signs no agent identity, so the page signs nobody in: the app's installation holds
// a Debrief API token (an agent token made with --installation) in a secure installation
// parameter, and every call goes through Freshworks' request proxy, which adds that token
// (config/requests.json: `debriefApi` for /api/v1/{Service}/{Method}, `debriefSession` for
// /api/v1/session). The token never reaches the page; a call proves the installation, not the
// agent, so debriefd lets it read, correct and link but not open or refresh tasks.
//
// The client object comes from Freshworks' app SDK, which Freshdesk injects into the app's page
// (`<script src="{{{appclient}}}">` in app/index.html) as the global `app`. Nothing else is loaded
// from anywhere: the bundle is packed into the app.

import { chooseTransport, describeError, parseSession } from './api';
import { ApiError, answerOf, kCallTimeoutMs } from './transport';
import type { Transport } from './transport';
import type { Session } from './types';

// What this page uses of the Freshworks client (platform 3.0).
export interface FreshworksClient {
  request: {
    invokeTemplate(
      name: string,
      options: { context?: Record<string, string>; body?: string },
    ): Promise<unknown>;
  };
  data: { get(what: string): Promise<unknown> };
  instance: { resize(size: { height: string }): unknown };
  events: { on(event: string, callback: () => void): unknown };
}

// The request templates of deploy/apps/freshdesk/config/requests.json (tests/apps checks them).
export const kApiTemplate = 'debriefApi';
export const kSessionTemplate = 'debriefSession';

// The session the page runs under has no token of its own: the proxy adds the installation's.
// parseSession wants a token, so this marker stands in; no transport sends it anywhere.
const kProxyToken = 'added-by-freshworks';
const kWaitForSdkMs = 10_000;

const kName = /^[A-Z][A-Za-z]*$/;

// Calls through the proxy. `bearer` is ignored: the template's Authorization header carries the
// installation's token. The proxy answers {status, headers, response} (response: the body's
// text) and rejects with the same shape, plus `errorSource` ("APP", "PLATFORM" or "UPSTREAM",
// the last when debriefd itself answered) for its own failures: rate limit (429), debriefd not
// reached (502), no answer in time.
export function freshworksTransport(client: FreshworksClient): Transport {
  return {
    async post(path: string, _bearer: string, body: unknown): Promise<unknown> {
      let template: string;
      let context: Record<string, string> = {};
      if (path === 'session' || path === 'session/refresh') {
        template = kSessionTemplate;
      } else {
        const [service = '', method = '', ...rest] = path.split('/');
        // Only names go into the template's path: never "..", "?" or "%2F".
        if (!kName.test(service) || !kName.test(method) || rest.length > 0) {
          throw new ApiError(400, 'bad_request', 'no such API method');
        }
        template = kApiTemplate;
        context = { service, method };
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ApiError(0, 'timeout', '')), kCallTimeoutMs);
      });
      let answer: unknown;
      try {
        answer = await Promise.race([
          client.request.invokeTemplate(template, {
            context,
            body: JSON.stringify(body ?? {}),
          }),
          timeout,
        ]);
      } catch (e) {
        throw proxyError(e);
      } finally {
        clearTimeout(timer);
      }
      const a = (answer ?? {}) as { status?: unknown; response?: unknown };
      const status = typeof a.status === 'number' ? a.status : 200;
      const parsed = answerOf(
        status,
        status >= 200 && status < 300,
        typeof a.response === 'string' ? a.response : null,
      );
      return path.startsWith('session') ? withoutToken(parsed) : parsed;
    },
  };
}

// A session answer keeps its facts (name, role, helpdesk) but not its token or expiry: the page
// calls under the installation's token, which the proxy adds and which does not expire with a
// session, so there is nothing to hold or renew.
function withoutToken(answer: unknown): unknown {
  if (answer === null || typeof answer !== 'object') return answer;
  return { ...(answer as object), token: kProxyToken, expiresAt: '' };
}

function proxyError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e === null || typeof e !== 'object') return new ApiError(0, 'unreachable', '');
  const r = e as { status?: unknown; response?: unknown; message?: unknown; errorSource?: unknown };
  const status = typeof r.status === 'number' ? r.status : 0;
  const text = typeof r.response === 'string' ? r.response : '';
  const fromDebrief = r.errorSource === undefined || r.errorSource === 'UPSTREAM';
  if (status === 429 && !fromDebrief) return new ApiError(429, 'rate_limited', '');
  if (fromDebrief && status >= 400) {
    try {
      answerOf(status, false, text);
    } catch (err) {
      const a = err as ApiError;
      // An answer in debriefd's words; anything else is the way there failing.
      if (a.code !== '' || a.serverMessage !== '' || status < 500) return a;
    }
  }
  const message = `${typeof r.message === 'string' ? r.message : ''} ${text}`;
  return new ApiError(0, /time.?out/i.test(message) ? 'timeout' : 'unreachable', '');
}

// Waits for the SDK's global `app` (a plain `<div id="app">` also shows up as window.app until
// the SDK has loaded) and the client it hands out once the page is registered with Freshdesk.
async function freshworksClient(): Promise<FreshworksClient> {
  const deadline = Date.now() + kWaitForSdkMs;
  for (;;) {
    const app = (window as unknown as { app?: { initialized?: unknown } }).app;
    if (app && typeof app.initialized === 'function') {
      const initialized = (app.initialized as () => Promise<FreshworksClient>).call(app);
      return await Promise.race([
        initialized,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('Freshdesk did not answer')), kWaitForSdkMs),
        ),
      ]);
    }
    if (Date.now() > deadline) throw new Error('no Freshworks app SDK on this page');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ticketIdOf(client: FreshworksClient): Promise<string> {
  const data = (await client.data.get('ticket')) as { ticket?: { id?: unknown } } | null;
  const id = data?.ticket?.id;
  if ((typeof id !== 'number' && typeof id !== 'string') || String(id) === '') {
    throw new Error('Freshdesk gave no ticket id');
  }
  return String(id);
}

// Keeps the sidebar as tall as the page.
function followHeight(client: FreshworksClient): void {
  if (typeof ResizeObserver === 'undefined') return;
  let last = 0;
  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (h === last) return;
      last = h;
      try {
        void Promise.resolve(client.instance.resize({ height: `${h}px` })).catch(() => {});
      } catch {
        // An older client without resize: the sidebar keeps its height.
      }
    });
  }).observe(document.body);
}

// The page before the panel, when it cannot start: one sentence, and a way to try again.
function showProblem(text: string, retry: boolean): void {
  const root = document.getElementById('app');
  if (!root) return;
  const card = document.createElement('div');
  card.className = 'card ended';
  card.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = text;
  card.append(p);
  if (retry) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Try again';
    button.addEventListener('click', () => window.location.reload());
    card.append(button);
  }
  const header = document.createElement('header');
  header.className = 'top';
  const h1 = document.createElement('h1');
  h1.textContent = 'Debrief';
  header.append(h1);
  const main = document.createElement('main');
  main.id = 'main';
  main.append(card);
  root.replaceChildren(header, main);
}

function startProblem(e: unknown): string {
  if (e instanceof ApiError && e.status === 401) {
    return (
      "Debrief did not accept this app's API token. A Freshdesk admin must put a valid one in " +
      "the Debrief app's settings."
    );
  }
  if (e instanceof ApiError && e.status === 403) {
    return (
      "This app's API token may not open the panel. Ask a Debrief admin for an installation " +
      'token.'
    );
  }
  if (e instanceof ApiError && e.status === 0 && e.code === 'unreachable') {
    return (
      'Freshdesk could not reach Debrief. A Freshdesk admin should check the Debrief host in ' +
      "the app's settings; Debrief must be reachable from the internet over HTTPS."
    );
  }
  return describeError(e, 'start');
}

// Signs the installation in (which also checks the token and learns its helpdesk), learns the
// ticket, then hands over to the panel (`loadPanel`, which reads the session island just as on a
// page a helpdesk signed). Returns false when the panel could not start.
export async function startInFreshdesk(loadPanel: () => Promise<unknown>): Promise<boolean> {
  let client: FreshworksClient;
  try {
    client = await freshworksClient();
  } catch {
    showProblem("Debrief's Freshdesk panel opens only in a Freshdesk ticket's sidebar.", false);
    return false;
  }
  const transport = freshworksTransport(client);
  chooseTransport(transport);
  followHeight(client);

  let ticketId: string;
  try {
    ticketId = await ticketIdOf(client);
  } catch {
    showProblem(
      'Debrief could not learn from Freshdesk which ticket this is; reopen the ticket.',
      true,
    );
    return false;
  }
  let session: Session | null;
  try {
    session = parseSession(await transport.post('session', '', {}));
  } catch (e) {
    showProblem(startProblem(e), true);
    return false;
  }
  if (session === null) {
    showProblem(describeError(new ApiError(200, 'bad_answer', ''), 'start'), true);
    return false;
  }
  if (session.role !== 'agent' || session.helpdeskId === '') {
    // Any Freshdesk agent can reach the proxy, so a broader token would hand them its powers.
    showProblem(
      "This app's API token is not an agent token for one helpdesk. A Debrief admin must make " +
        'one with: debriefctl tokens create freshdesk-app --role agent --helpdesk <id> ' +
        '--installation',
      false,
    );
    return false;
  }

  // Another ticket in the same sidebar: start again for it.
  client.events.on('app.activated', () => {
    ticketIdOf(client)
      .then((id) => {
        if (id !== ticketId) window.location.reload();
      })
      .catch(() => {});
  });

  const island = document.createElement('script');
  island.id = 'debrief-session';
  island.type = 'application/json';
  island.textContent = JSON.stringify({ ...session, ticketId });
  document.head.append(island);
  await loadPanel();
  return true;
}
