// The client of debriefd's JSON door: POST /api/v1/{Service}/{Method} with the session's
// bearer token, the request and the answer in Protobuf's JSON mapping, errors as
// {"error": "<for a person>", "code": "<snake_case>"} with an HTTP status. How a call travels
// (fetch() to debriefd, or a helpdesk's request proxy) is the transport's business (transport.ts).
//
// The session token lives only in this object (never in storage, cookies or URLs): a page
// reload forgets it, which is the point. The token is renewed a minute before it expires.

import type { Session } from './types';
import { ApiError, fetchTransport } from './transport';
import type { Transport } from './transport';

export { ApiError } from './transport';
export type { Transport } from './transport';

const kRefreshBeforeMs = 60_000;
const kMinRefreshDelayMs = 10_000;
const kRetryRefreshMs = 15_000;
// setTimeout keeps its delay in a signed 32-bit number of milliseconds.
const kMaxTimerMs = 2_000_000_000;

// How calls reach debriefd: fetch() with the bearer token unless the page chose another transport
// at start (the Freshdesk app's page: its request proxy adds the token). Chosen once, before the
// first call, so no call can go out one way and the next another.
let transport: Transport = fetchTransport;
let transportUsed = false;

export function chooseTransport(t: Transport): void {
  if (transportUsed) throw new Error('the transport is chosen before the first call');
  transport = t;
}

// `path` is below /api/v1/: "session", "session/refresh" or "{Service}/{Method}".
function post(path: string, bearer: string, body: unknown): Promise<unknown> {
  transportUsed = true;
  return transport.post(path, bearer, body);
}

// Checks that an answer of /api/v1/session or the session script has what the page needs.
export function parseSession(value: unknown): Session | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.token !== 'string' || v.token === '') return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  const s: Session = {
    token: v.token,
    expiresAt: str(v.expiresAt),
    name: str(v.name),
    role: str(v.role),
    helpdeskId: str(v.helpdeskId),
  };
  if (typeof v.ticketId === 'string' && v.ticketId !== '') s.ticketId = v.ticketId;
  if (v.installation === true) s.installation = true;
  return s;
}

// Exchanges an API token (typed by the agent on the standalone page) for a session.
export async function signIn(apiToken: string): Promise<Session> {
  const s = parseSession(await post('session', apiToken, {}));
  if (s === null) throw new ApiError(200, 'bad_answer', '');
  return s;
}

export class Api {
  private session: Session;
  private readonly onEnded: () => void;
  private refreshAt = 0;
  private refreshing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  // `onEnded` runs once, when a call or a renewal answers 401: the page must sign in again.
  constructor(session: Session, onEnded: () => void) {
    this.session = session;
    this.onEnded = onEnded;
    this.schedule();
  }

  get name(): string {
    return this.session.name;
  }

  get role(): string {
    return this.session.role;
  }

  // A helpdesk installation's session (Freshdesk's): it may read, correct and link only.
  get installation(): boolean {
    return this.session.installation === true;
  }

  // Stops renewing the session (the page signed out or is showing another session).
  stop(): void {
    this.ended = true;
    clearTimeout(this.timer);
  }

  async call<T>(service: string, method: string, request: object): Promise<T> {
    if (this.ended) throw new ApiError(401, 'session_ended', '');
    // A timer in a background tab may fire late: renew first when the renewal is overdue.
    if (Date.now() >= this.refreshAt) await this.refresh();
    try {
      return (await post(`${service}/${method}`, this.session.token, request)) as T;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.end();
      throw e;
    }
  }

  private end(): void {
    if (this.ended) return;
    this.stop();
    this.onEnded();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const expires = Date.parse(this.session.expiresAt);
    if (Number.isNaN(expires)) {
      // No expiry given: never renew; a 401 will say when it is over.
      this.refreshAt = Number.POSITIVE_INFINITY;
      return;
    }
    const lifetime = expires - Date.now();
    // A short-lived session (or a clock behind debriefd's) renews at half its life, and never
    // in a tight loop.
    const delay = Math.max(
      kMinRefreshDelayMs,
      lifetime > 2 * kRefreshBeforeMs ? lifetime - kRefreshBeforeMs : lifetime / 2,
    );
    this.refreshAt = Date.now() + delay;
    this.timer = setTimeout(
      () => void this.refresh().catch(() => {}),
      Math.min(delay, kMaxTimerMs),
    );
  }

  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const s = parseSession(await post('session/refresh', this.session.token, {}));
        if (s === null) throw new ApiError(200, 'bad_answer', '');
        // The ticket a helpdesk signed for stays with the page, whatever the renewal says.
        this.session = { ...s, ticketId: this.session.ticketId };
        this.schedule();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          this.end();
          throw e;
        }
        // debriefd busy or unreachable: keep the current token while it lasts, try again soon.
        this.refreshAt = Date.now() + kRetryRefreshMs;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh().catch(() => {}), kRetryRefreshMs);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}

// A sentence for a person saying what failed, never a bare status: `what` completes
// "Debrief could not …", e.g. "load the customer's journey".
export function describeError(e: unknown, what: string): string {
  const lead = `Debrief could not ${what}.`;
  if (!(e instanceof ApiError)) return `${lead} Try again.`;
  switch (e.status) {
    case 0:
      return e.code === 'timeout'
        ? `${lead} It did not answer in time. Try again.`
        : `${lead} Check your connection and try again.`;
    case 401:
      return 'Your session has ended.';
    case 403:
      return `${lead} ${sentence(e.serverMessage) || 'You are not allowed to do this.'}`;
    case 404:
      return `${lead} ${sentence(e.serverMessage) || 'It was not found.'}`;
    case 429:
      return `${lead} Debrief is busy; try again in a moment.`;
    case 400:
    case 409:
    case 412:
      return `${lead} ${sentence(e.serverMessage) || 'Try again.'}`;
    default:
      return `${lead} Try again.`;
  }
}

// The server's message as a sentence: capital first letter, a full stop at the end.
function sentence(s: string): string {
  const t = s.trim();
  if (t === '') return '';
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
