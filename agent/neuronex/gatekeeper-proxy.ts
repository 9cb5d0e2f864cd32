import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import type { Limits } from '../../shared/protocol/limits.js';
import { decideNode, decideTags, refusals, tagsInBatch, type Decision, type RefusalReason } from './gatekeeper.js';
import type { NeuronClient } from './neuron-client.js';

export interface GatekeeperOptions {
  /** The gateway's origin, e.g. http://127.0.0.1:7000 (core) or http://127.0.0.1:8085 (NeuronEX). */
  readonly target: string;
  readonly host: string;
  readonly port: number;
  readonly limits: () => Limits;
  readonly neuron: NeuronClient;
  readonly freePlugins: readonly string[];
  readonly onRefusal?: (reason: RefusalReason) => void;
  readonly onError?: (err: unknown) => void;
}

export interface GatekeeperProxy {
  readonly url: string;
  close(): Promise<void>;
}

/** Both API prefixes reach the same handlers: Neuron core and NeuronEX's proxy of it. */
const PREFIXES = ['/api/v2', '/api/neuron'];

/**
 * An HTTP proxy in front of the gateway's REST API that refuses what would go over the effective
 * limits with the gateway's own answers. Creations run one at a time and each decision reads the
 * gateway's real usage first, so concurrent requests cannot race past a limit.
 */
export async function startGatekeeperProxy(o: GatekeeperOptions): Promise<GatekeeperProxy> {
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
      proxyReq: fixRequestBody,
      error: (err, _req, res) => {
        o.onError?.(err);
        if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 1001 }));
      },
    },
  });
  // Resolves when the proxied response has been sent, so the next creation sees its effect.
  const forward = (req: Request, res: Response) =>
    new Promise<void>((resolve) => {
      res.once('finish', () => resolve());
      res.once('close', () => resolve());
      void proxy(req, res, () => resolve());
    });
  const refuse = (res: Response, d: Extract<Decision, { allow: false }>) => {
    o.onRefusal?.(d.reason);
    res.status(d.refusal.status).json(d.refusal.body);
  };

  const app = express();
  app.disable('x-powered-by');
  const gated = (path: string, decide: (req: Request) => Promise<Decision>) =>
    app.post(
      PREFIXES.map((p) => p + path),
      express.json({ limit: '8mb' }),
      (req, res) =>
        void serial(async () => {
          try {
            const d = await decide(req);
            if (!d.allow) return refuse(res, d);
            await forward(req, res);
          } catch (err) {
            o.onError?.(err);
            // Usage unknown: refusing is the safe answer (fail closed), with Neuron's "busy".
            if (!res.headersSent) res.status(500).json({ error: 1010 });
          }
        }),
    );

  gated('/node', async (req) => {
    const plugin = (req.body as { plugin?: unknown }).plugin;
    if (typeof plugin !== 'string') return { allow: true }; // the gateway answers its own validation error
    return decideNode(o.limits(), await o.neuron.usage(), plugin, o.freePlugins);
  });
  for (const kind of ['tags', 'gtags'] as const) {
    gated(`/${kind}`, async (req) => {
      const n = tagsInBatch(kind, req.body);
      if (n === undefined) return { allow: true };
      return decideTags(o.limits(), await o.neuron.usage(), n);
    });
  }
  // Import adds a plugin's built-in tags, whose number is unknown beforehand: import, then undo it
  // if the total went over the limit.
  app.post(
    PREFIXES.map((p) => `${p}/tags/import`),
    express.json({ limit: '1mb' }),
    (req, res) =>
      void serial(async () => {
        try {
          const node = (req.body as { node?: unknown }).node;
          const limits = o.limits();
          const before = await o.neuron.usage();
          if (typeof node !== 'string') return forward(req, res);
          if (before.tags >= limits.tags) return refuse(res, { allow: false, reason: 'tooManyTags', refusal: refusals.tooManyTags });
          const snapshot = await tagSets(o.neuron, node);
          const answer = await fetchFromGateway(o.target, req);
          const send = () => res.status(answer.status).type(answer.contentType).send(answer.body);
          if (answer.status >= 300 || (await o.neuron.usage()).tags <= limits.tags) return send();
          await rollbackImport(o.neuron, node, snapshot);
          refuse(res, { allow: false, reason: 'tooManyTags', refusal: refusals.tooManyTags });
        } catch (err) {
          o.onError?.(err);
          if (!res.headersSent) res.status(500).json({ error: 1010 });
        }
      }),
  );
  app.use((req, res) => void proxy(req, res, () => res.status(502).end()));

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

async function tagSets(neuron: NeuronClient, node: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const g of await neuron.groupsOf(node)) out.set(g.name, new Set(await neuron.tagNames(node, g.name)));
  return out;
}

async function rollbackImport(neuron: NeuronClient, node: string, before: Map<string, Set<string>>): Promise<void> {
  for (const g of await neuron.groupsOf(node)) {
    const had = before.get(g.name) ?? new Set<string>();
    const added = (await neuron.tagNames(node, g.name)).filter((t) => !had.has(t));
    if (added.length) await neuron.deleteTags(node, g.name, added);
  }
}

/** Sends the request to the gateway ourselves and keeps the answer, so it can be replaced by a refusal. */
async function fetchFromGateway(target: string, req: Request): Promise<{ status: number; body: string; contentType: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  const res = await fetch(new URL(req.originalUrl, target), { method: req.method, headers, body: JSON.stringify(req.body), signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? 'application/json' };
}
