// How the page reaches debriefd's JSON door. A transport POSTs one request to
// /api/v1/{path} ("session", "session/refresh" or "{Service}/{Method}") and answers the parsed
// JSON object, or rejects with an ApiError. The page uses one transport, chosen before the first
// call (`chooseTransport` in api.ts): `fetchTransport` below, straight to debriefd with the
// session's bearer token, unless the page runs inside a helpdesk app framework that makes the
// call itself (transport_freshdesk.ts).

// Why a call failed. `status` is the HTTP status, or 0 when debriefd could not be reached.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly serverMessage: string;

  constructor(status: number, code: string, serverMessage: string) {
    super(serverMessage || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }
}

export interface Transport {
  // `bearer` is the token the call runs under (an API token for "session", else the session's);
  // a transport that adds its own credentials ignores it. Resolves to the answer's JSON object;
  // rejects with ApiError only.
  post(path: string, bearer: string, body: unknown): Promise<unknown>;
}

export const kCallTimeoutMs = 20_000;

// Reads debriefd's answer: the JSON object of a 2xx, or the ApiError its {"error", "code"} body
// describes. `text` is null when the body could not be read.
export function answerOf(status: number, ok: boolean, text: string | null): unknown {
  let parsed: unknown = null;
  try {
    parsed = text === null ? null : text ? JSON.parse(text) : {};
  } catch {
    parsed = null;
  }
  if (!ok) {
    const e = (parsed ?? {}) as { error?: unknown; code?: unknown };
    throw new ApiError(
      status,
      typeof e.code === 'string' ? e.code : '',
      typeof e.error === 'string' ? e.error : '',
    );
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new ApiError(status, 'bad_answer', '');
  }
  return parsed;
}

// The page served by debriefd: fetch() to the same origin, the token in an Authorization
// header (never a cookie, so no CSRF), nothing cached.
export const fetchTransport: Transport = {
  async post(path: string, bearer: string, body: unknown): Promise<unknown> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), kCallTimeoutMs);
    let res: Response;
    try {
      res = await fetch(`/api/v1/${path}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${bearer}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        body: JSON.stringify(body ?? {}),
        credentials: 'omit',
        cache: 'no-store',
        signal: abort.signal,
      });
    } catch {
      throw new ApiError(0, abort.signal.aborted ? 'timeout' : 'unreachable', '');
    } finally {
      clearTimeout(timer);
    }
    let text: string | null = null;
    try {
      text = await res.text();
    } catch {
      text = null;
    }
    return answerOf(res.status, res.ok, text);
  },
};
