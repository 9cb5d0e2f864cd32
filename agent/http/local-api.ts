import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { AgentView } from '../local/agent-view.js';

/** NeuronEX's `GET /api/license` fields, plus ours; tools that read a NeuronEX license read this one. */
export interface LicenseDocument {
  readonly licenseType: 'FLOATING' | 'TRIAL';
  /** UTC "YYYY-MM-DD hh:mm:ss", or "" on the trial allowance. */
  readonly startDate: string;
  readonly expiredDate: string;
  readonly expired: boolean;
  readonly totalTagCount: number;
  readonly usedTagCount: number;
  readonly enabledPlugins: readonly string[];
  readonly hardwareToken: string;
  readonly maxConnections: number;
  readonly usedConnections: number;
  readonly leaseSecondsLeft: number;
  readonly controllerReachable: boolean;
  readonly transport: string | null;
  readonly gatewayId: string | null;
  readonly seq: number | null;
}

/** NeuronEX's date format: UTC "YYYY-MM-DD hh:mm:ss". */
export function neuronDate(epochSeconds: number | undefined): string {
  return epochSeconds === undefined ? '' : new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function licenseDocument(v: AgentView): LicenseDocument {
  return {
    licenseType: v.licenseType,
    startDate: neuronDate(v.issuedAt),
    expiredDate: neuronDate(v.expiresAt),
    // A lapsed floating license: its dates are still shown, the trial allowance applies.
    expired: v.licenseType === 'TRIAL' && v.expiresAt !== undefined,
    totalTagCount: v.limits.tags,
    usedTagCount: v.usage?.tags ?? 0,
    enabledPlugins: [...v.limits.plugins],
    hardwareToken: v.hardwareId,
    maxConnections: v.limits.connections,
    usedConnections: v.usage?.connections ?? 0,
    leaseSecondsLeft: v.secondsLeft,
    controllerReachable: v.controllerReachable,
    transport: v.transport ?? null,
    gatewayId: v.gatewayId ?? null,
    seq: v.seq ?? null,
  };
}

export interface LocalApiOptions {
  readonly view: () => AgentView;
  /** Mounted after the built-in routes: the license page, the decision API, /metrics, the NeuronEX proxy's admin. */
  readonly routers?: readonly Router[];
}

/** The agent's local HTTP API (no listen; tests use it directly). */
export function createLocalApp(o: LocalApiOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  app.get('/api/license', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store').json(licenseDocument(o.view()));
  });
  for (const router of o.routers ?? []) app.use(router);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not-found' });
  });
  const onError: ErrorRequestHandler = (err: { status?: unknown }, _req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status < 500 ? 'bad-request' : 'internal' });
  };
  app.use(onError);
  return app;
}

export interface LocalApi {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one). */
export async function startLocalApi(o: LocalApiOptions & { readonly host: string; readonly port: number }): Promise<LocalApi> {
  const server = http.createServer(createLocalApp(o));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
