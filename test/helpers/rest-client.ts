export interface RestResponse<T> {
  status: number;
  body: T;
}

/** A JSON client of the controller's REST API for tests; `token: null` sends no Authorization. */
export function restClient(baseUrl: () => string, defaultToken: string) {
  return async <T = Record<string, unknown>>(method: string, p: string, body?: unknown, token: string | null = defaultToken): Promise<RestResponse<T>> => {
    const res = await fetch(baseUrl() + p, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
}
