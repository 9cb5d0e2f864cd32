/** A refusal or failure from the controller, carrying the problem's stable name and plain detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: string,
    readonly detail: string,
    readonly body: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** Fetches a file (a CSV export) with the token and hands it to the browser as a download. */
  download(path: string, filename: string): Promise<void>;
}

export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';

async function toError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not a problem document (a proxy's page, say): fall back to the status line.
  }
  const name = typeof body.name === 'string' ? body.name : `http-${res.status}`;
  const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, name, detail, body);
}

/** Calls /api/v1 with the bearer token; a 401 means the token is no longer good, so the session ends. */
export function createApi(token: string, onUnauthorized: () => void): Api {
  const call = async <T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError(0, 'network', 'The controller cannot be reached. Check that it is running and try again.');
    }
    if (!res.ok) {
      const err = await toError(res);
      if (res.status === 401) onUnauthorized();
      throw err;
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  };
  return {
    get: (path, signal) => call('GET', path, undefined, signal),
    send: (method, path, body) => call(method, path, body),
    download: async (path, filename) => {
      let res: Response;
      try {
        // A plain link cannot carry the bearer token, so the file is fetched and saved from a blob.
        res = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/csv' } });
      } catch {
        throw new ApiError(0, 'network', 'The controller cannot be reached. Check that it is running and try again.');
      }
      if (!res.ok) {
        const err = await toError(res);
        if (res.status === 401) onUnauthorized();
        throw err;
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
  };
}

/** Checks a token without side effects on the session (used by sign-in). */
export async function whoAmI<T>(token: string): Promise<T> {
  return createApi(token, () => undefined).get<T>('/me');
}

/** Builds a query string, leaving out empty values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
