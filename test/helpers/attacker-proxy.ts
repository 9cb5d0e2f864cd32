import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Answer = { status: number; body: unknown } | undefined;
type Override = (method: string, path: string) => Answer | Promise<Answer>;

export interface AttackerProxy {
  readonly url: string;
  /** Requests seen, `METHOD path`, in order. */
  readonly seen: string[];
  /** Answers instead of the controller where it returns a value; undefined forwards. */
  override(fn: Override | undefined): void;
  close(): Promise<void>;
}

/**
 * The device owner's proxy between agent and controller (the controller URL points at it): it
 * forwards to the real controller until told to answer requests itself.
 */
export async function startAttackerProxy(target: () => string): Promise<AttackerProxy> {
  const seen: string[] = [];
  let override: Override | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        seen.push(`${method} ${path}`);
        try {
          const own = await override?.(method, path);
          if (own) {
            res.writeHead(own.status, { 'content-type': 'application/json' }).end(JSON.stringify(own.body));
            return;
          }
          const headers: Record<string, string> = {};
          for (const h of ['authorization', 'content-type']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
          const body = chunks.length ? Buffer.concat(chunks) : undefined;
          const upstream = await fetch(target() + path, { method, headers, ...(body && method !== 'GET' ? { body } : {}) });
          const text = await upstream.text();
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(text);
        } catch (err) {
          res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: (err as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    override: (fn) => void (override = fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
