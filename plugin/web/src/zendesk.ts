// Inside Zendesk's ticket sidebar: the ticket id when the signed session does not carry one,
// and the iframe's height following the page's. Zendesk adds `origin` and `app_guid` to the
// URL of an app's iframe; only then does the page talk to Zendesk at all.
//
// This is a small client of the Zendesk Apps Framework's postMessage protocol (the one
// Zendesk's own ZAF SDK speaks: a handshake, then `get` and `invoke` requests answered by id),
// written here because Zendesk publishes its SDK only on its CDN, and the page loads nothing
// from anywhere but debriefd. Messages are JSON strings, sent to `origin` only and accepted
// only from the parent frame at that origin.

const TIMEOUT_MS = 5000;

export function inZendesk(): boolean {
  return zafOrigin() !== null;
}

function zafOrigin(): string | null {
  const q = new URLSearchParams(window.location.search);
  const origin = q.get('origin');
  if (!origin || !q.get('app_guid') || window.parent === window) return null;
  try {
    // Messages go to this origin: it must be a web origin, never "*" or a script.
    const u = new URL(origin);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && u.hostname === 'localhost')) {
      return null;
    }
    return u.origin;
  } catch {
    return null;
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: number };

class ZafClient {
  private readonly origin: string;
  private readonly appGuid: string;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private registered: Promise<Record<string, unknown>>;

  constructor(origin: string, appGuid: string) {
    this.origin = origin;
    this.appGuid = appGuid;
    let onRegistered: (context: Record<string, unknown>) => void = () => {};
    this.registered = new Promise((resolve) => (onRegistered = resolve));
    window.addEventListener('message', (event: MessageEvent) => {
      if (event.origin !== this.origin || event.source !== window.parent) return;
      let data: Record<string, unknown>;
      try {
        data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
      } catch {
        return;
      }
      if (data === null || typeof data !== 'object') return;
      const id = typeof data.id === 'number' ? data.id : NaN;
      const waiting = this.pending.get(id);
      if (waiting) {
        this.pending.delete(id);
        clearTimeout(waiting.timer);
        if (data.error) waiting.reject(new Error('Zendesk refused the request'));
        else waiting.resolve(data.result);
      } else if (data.key === 'zaf.app.registered') {
        const message = (data.message ?? {}) as Record<string, unknown>;
        onRegistered((message.context ?? {}) as Record<string, unknown>);
      }
    });
    this.post({ key: 'iframe.handshake', message: { version: '2.0' } });
  }

  private post(message: Record<string, unknown>): void {
    const full = { ...message, appGuid: this.appGuid, instanceGuid: this.appGuid };
    window.parent.postMessage(JSON.stringify(full), this.origin);
  }

  private request(request: 'get' | 'invoke', params: unknown): Promise<unknown> {
    return this.registered.then(
      () =>
        new Promise((resolve, reject) => {
          const id = ++this.nextId;
          const timer = window.setTimeout(() => {
            this.pending.delete(id);
            reject(new Error('Zendesk did not answer'));
          }, TIMEOUT_MS);
          this.pending.set(id, { resolve, reject, timer });
          this.post({ id, request, params });
        }),
    );
  }

  // The framework's context once the app is registered (ticket_sidebar carries ticketId).
  context(): Promise<Record<string, unknown>> {
    return this.registered;
  }

  async get(path: string): Promise<unknown> {
    const result = (await this.request('get', [path])) as Record<string, unknown> | null;
    const errors = (result?.errors ?? {}) as Record<string, unknown>;
    if (errors[path]) throw new Error(`Zendesk could not read ${path}`);
    return result?.[path];
  }

  invoke(name: string, ...args: unknown[]): Promise<unknown> {
    return this.request('invoke', { [name]: args });
  }
}

let client: ZafClient | null | undefined;

function zendesk(): ZafClient | null {
  if (client === undefined) {
    const origin = zafOrigin();
    const guid = new URLSearchParams(window.location.search).get('app_guid');
    client = origin && guid ? new ZafClient(origin, guid) : null;
  }
  return client;
}

// The id of the ticket the sidebar is open beside.
export async function zendeskTicketId(): Promise<string> {
  const c = zendesk();
  if (c === null) throw new Error('not inside Zendesk');
  const context = await c.context();
  let id: unknown = context.ticketId;
  if (id === undefined || id === null || id === '') id = await c.get('ticket.id');
  if ((typeof id !== 'number' && typeof id !== 'string') || String(id) === '') {
    throw new Error('Zendesk gave no ticket id');
  }
  return String(id);
}

// Keeps the sidebar iframe as tall as the page (Zendesk does not do it by itself).
export function followHeight(): () => void {
  const c = zendesk();
  if (c === null || typeof ResizeObserver === 'undefined') return () => {};
  let last = 0;
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (h === last) return;
      last = h;
      c.invoke('resize', { width: '100%', height: `${h}px` }).catch(() => {});
    });
  });
  observer.observe(document.body);
  return () => observer.disconnect();
}
