import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { ALL_PLUGINS } from '../../shared/protocol/limits.js';
import type { AgentView } from '../local/agent-view.js';

/**
 * NeuronEX's `GET /api/license` fields (neuronex.md §4.1), plus ours; tools that read a NeuronEX
 * license read this one. Dates are the pool license's; the lease's own window is apart.
 */
export interface LicenseDocument {
  /** NeuronEX's values: a floating lease is what NeuronEX calls an ECP-assigned VIRTUAL license. */
  readonly licenseType: 'VIRTUAL' | 'TRIAL';
  /** floatlease's own name for the state. */
  readonly mode: 'FLOATING' | 'TRIAL';
  readonly customerName: string;
  readonly customerContact: string;
  readonly officialEmail: string;
  /** UTC "YYYY-MM-DD hh:mm:ss": the pool license's issue and expiry, or "" when unknown/trial. */
  readonly startDate: string;
  readonly expiredDate: string;
  readonly expired: boolean;
  readonly totalTagCount: number;
  readonly usedTagCount: number;
  readonly enabledPlugins: readonly string[];
  /** The trial allowance: every commercial plugin except the ones NeuronEX excludes (CNC). */
  readonly allCommercialPluginsExceptCnc: boolean;
  readonly hardwareToken: string;
  /** NeuronEX stops unlicensed data-processing rules after 60 minutes; a lease licenses them. */
  readonly ekuiperOn: boolean;
  readonly maxConnections: number;
  readonly usedConnections: number;
  /** More in use than the limits allow (after a lowered allocation or a lapse to the trial). */
  readonly overUse: { readonly tags: boolean; readonly connections: boolean };
  readonly overUsed: boolean;
  readonly leaseIssuedAt: string;
  readonly leaseExpiresAt: string;
  readonly leaseSecondsLeft: number;
  /** The lease is an offline license file loaded at the device. */
  readonly leaseOffline: boolean;
  /** The lease is an offline borrow (issue 21): the controller is not needed until `borrowedUntil`. */
  readonly leaseBorrowed: boolean;
  /** The borrow's end, UTC "YYYY-MM-DD hh:mm:ss"; "" when not borrowed. */
  readonly borrowedUntil: string;
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
  const used = { tags: v.usage?.tags ?? 0, connections: v.usage?.connections ?? 0 };
  const overUse = { tags: used.tags > v.limits.tags, connections: used.connections > v.limits.connections };
  return {
    licenseType: v.licenseType === 'FLOATING' ? 'VIRTUAL' : 'TRIAL',
    mode: v.licenseType,
    customerName: v.customer ?? '',
    customerContact: '',
    officialEmail: '',
    startDate: neuronDate(v.licenseIssuedAt),
    expiredDate: neuronDate(v.licenseExpiresAt),
    // A lapsed floating license: its dates are still shown, the trial allowance applies.
    expired: v.licenseType === 'TRIAL' && v.expiresAt !== undefined,
    totalTagCount: v.limits.tags,
    usedTagCount: used.tags,
    enabledPlugins: v.limits.plugins.filter((p) => p !== ALL_PLUGINS),
    allCommercialPluginsExceptCnc: v.limits.plugins.includes(ALL_PLUGINS),
    hardwareToken: v.hardwareId,
    ekuiperOn: v.licenseType === 'FLOATING',
    maxConnections: v.limits.connections,
    usedConnections: used.connections,
    overUse,
    overUsed: overUse.tags || overUse.connections,
    leaseIssuedAt: neuronDate(v.issuedAt),
    leaseExpiresAt: neuronDate(v.expiresAt),
    leaseSecondsLeft: v.secondsLeft,
    leaseOffline: v.offline === true,
    leaseBorrowed: v.borrowedUntil !== undefined,
    borrowedUntil: neuronDate(v.borrowedUntil),
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
function createLocalApp(o: LocalApiOptions): Express {
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
