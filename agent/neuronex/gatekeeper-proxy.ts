import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Limits } from '../../shared/protocol/limits.js';
import { additionsInBulk, decideAddition, decideWhileOver, deny, tagsInBatch, type Addition, type Decision, type RefusalReason } from './gatekeeper.js';
import { judgeAfter, snapshot, undo } from './measured-change.js';
import type { NeuronClient } from './neuron-client.js';
import { canonicalPath, classify, type ExtraRoute, type RouteKind } from './neuron-routes.js';
import { DEFAULT_PLUGIN_POLICY, type PluginPolicy } from './plugin-policy.js';

export interface GatekeeperOptions {
  /** The gateway's origin, e.g. http://127.0.0.1:7000 (core) or http://127.0.0.1:8085 (NeuronEX). */
  readonly target: string;
  readonly host: string;
  readonly port: number;
  readonly limits: () => Limits;
  readonly neuron: NeuronClient;
  readonly plugins?: PluginPolicy;
  /** Mutating routes outside Neuron's route table that may pass (FLOATLEASE_PROXY_ALLOW_ROUTES). */
  readonly extraRoutes?: readonly ExtraRoute[];
  readonly onRefusal?: (reason: RefusalReason) => void;
  readonly onError?: (err: unknown) => void;
}

export interface GatekeeperProxy {
  readonly url: string;
  close(): Promise<void>;
}

/** Neuron's largest body is a `/global/config` restore; its HTTP server takes far more than this. */
const BODY_LIMIT = '64mb';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Neuron parses every body as JSON whatever its Content-Type; undefined = Neuron would answer 1002. */
function readJson(buf: unknown): unknown {
  if (!Buffer.isBuffer(buf) || buf.length === 0) return undefined;
  try {
    return JSON.parse(utf8.decode(buf)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * An HTTP proxy in front of the gateway's REST API. It matches the canonical path the gateway routes
 * on, reads every gated body as JSON whatever its Content-Type, refuses what would go over the
 * effective limits with the gateway's own answers, and denies mutating routes it does not know.
 * Creations run one at a time and each decision reads the gateway's real usage first, so concurrent
 * requests cannot race past a limit.
 */
export async function startGatekeeperProxy(o: GatekeeperOptions): Promise<GatekeeperProxy> {
  const policy = o.plugins ?? DEFAULT_PLUGIN_POLICY;
  const extra = o.extraRoutes ?? [];
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const proxy = createProxyMiddleware<Request, Response>({
    target: o.target,
    changeOrigin: true,
    on: {
      error: (err, _req, res) => {
        o.onError?.(err);
        if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 1001 }));
      },
    },
  });
  const refuse = (res: Response, d: Decision) => {
    if (d.allow) return;
    o.onRefusal?.(d.reason);
    res.status(d.refusal.status).json(d.refusal.body);
  };
  const send = (res: Response, a: GatewayAnswer) => res.status(a.status).type(a.contentType).send(a.body);

  const decideBefore = async (kind: RouteKind, body: unknown): Promise<Decision> => {
    const limits = o.limits();
    const additions = (add: Addition | undefined) =>
      add === undefined ? Promise.resolve(deny('bodyUnreadable')) : Promise.all([o.neuron.usage(), add.plugins.length ? o.neuron.plugins() : []]).then(([u, known]) => decideAddition(limits, u, add, policy, known));
    switch (kind) {
      case 'node': {
        const plugin = (body as { plugin?: unknown }).plugin;
        // Without a plugin name the gateway answers its own validation error; nothing is created.
        return typeof plugin === 'string' ? additions({ plugins: [plugin], tags: 0 }) : { allow: true };
      }
      case 'tags':
      case 'gtags': {
        const n = tagsInBatch(kind, body);
        if (n === undefined) return { allow: true }; // not Neuron's shape: Neuron refuses it too
        const d = await additions({ plugins: [], tags: n });
        return !d.allow && d.reason === 'tooManyTags' && kind === 'gtags' ? deny('tooManyGroupTags') : d;
      }
      case 'bulk':
        return additions(additionsInBulk(body));
      case 'group':
        return decideWhileOver(limits, await o.neuron.usage());
      case 'nodeCtl':
        // cmd 0 starts a node: not while over the limits (stop-excess would be undone by hand).
        return (body as { cmd?: unknown }).cmd === 0 ? decideWhileOver(limits, await o.neuron.usage()) : { allow: true };
      default:
        return { allow: true };
    }
  };

  const gated = async (req: Request, res: Response, kind: RouteKind, path: string) => {
    const body = readJson(req.body);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse(res, deny('bodyUnreadable'));
    if (kind === 'measured') return measured(req, res, path, body);
    const d = await decideBefore(kind, body);
    if (!d.allow) return refuse(res, d);
    send(res, await forward(o.target, req, path));
  };

  const measured = async (req: Request, res: Response, path: string, body: object) => {
    const limits = o.limits();
    const node = path.endsWith('/tags/import') ? (body as { node?: unknown }).node : undefined;
    const only = typeof node === 'string' ? node : undefined;
    const before = await snapshot(o.neuron, only);
    const pre = decideWhileOver(limits, await o.neuron.usage());
    if (!pre.allow) return refuse(res, pre);
    const usage = await o.neuron.usage();
    if (usage.tags >= limits.tags) return refuse(res, deny('tooManyTags'));
    const answer = await forward(o.target, req, path);
    if (answer.status >= 300) return send(res, answer);
    const after = await judgeAfter(o.neuron, limits, before, policy);
    if (after.allow) return send(res, answer);
    await undo(o.neuron, before, only);
    refuse(res, after);
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q);
    const canon = canonicalPath(rawPath);
    const match = canon.ok ? classify(req.method, canon.path, extra) : 'unknown';
    if (match === 'unknown') {
      if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return void proxy(req, res, next);
      return refuse(res, deny('unknownRoute'));
    }
    if (match.kind === 'denied') return refuse(res, deny('unknownRoute'));
    // The gateway gets the path that was judged, not a spelling of it.
    req.url = (canon.ok ? canon.path : rawPath) + query;
    if (match.kind === 'passed') return void proxy(req, res, next);
    express.raw({ type: () => true, limit: BODY_LIMIT })(req, res, (err?: unknown) => {
      if (err) return refuse(res, deny('bodyUnreadable'));
      void serial(async () => {
        try {
          await gated(req, res, match.kind, req.url.slice(0, req.url.length - query.length));
        } catch (e) {
          o.onError?.(e);
          // Usage unknown: refusing is the safe answer (fail closed), with Neuron's "busy".
          if (!res.headersSent) res.status(500).json({ error: 1010 });
        }
      });
    });
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface GatewayAnswer {
  status: number;
  body: Buffer;
  contentType: string;
}

/** Headers that describe the hop, not the request. */
const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'accept-encoding', 'upgrade', 'expect']);

/** Sends the request (its exact bytes) to the gateway ourselves and keeps the answer, so it can be replaced by a refusal. */
async function forward(target: string, req: Request, path: string): Promise<GatewayAnswer> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
  const q = req.url.indexOf('?');
  const url = new URL(path + (q < 0 ? '' : req.url.slice(q)), target);
  const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : undefined;
  const res = await fetch(url, { method: req.method, headers, body, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/json' };
}
