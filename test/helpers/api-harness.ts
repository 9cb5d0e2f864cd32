import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../server/app.js';
import type { Config } from '../../server/config.js';
import { buildApiRouter } from '../../server/http-routes.js';
import { createServices, type Services } from '../../server/services.js';
import type { RouteRegistry } from '../../server/http/route-registry.js';
import { perFile } from './per-file.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { createTestVendor } from './vendor.js';

export const ADMIN_TOKEN = `fl_${'a'.repeat(43)}`;

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  contentType: string;
}

export interface Harness {
  readonly url: string;
  readonly db: TestDatabase;
  readonly services: Services;
  readonly registry: RouteRegistry;
  api<T = Record<string, unknown>>(method: string, p: string, body?: unknown, token?: string | null): Promise<ApiResponse<T>>;
  /** A pool license signed by the harness's trusted vendor key. */
  license(opts: { tags: number; connections: number; plugins?: string[]; expiresInSec?: number; customer?: string }): Promise<string>;
  /** A license signed by a key the controller does not trust. */
  foreignLicense(opts: { tags: number; connections: number }): Promise<string>;
  /** Creates a pool with a license; returns its id. */
  pool(opts?: { name?: string; tags?: number; connections?: number; plugins?: string[]; settings?: Record<string, unknown> }): Promise<string>;
  /** Creates an activation code for a pool; returns the code. */
  code(poolId: string, seats?: number): Promise<string>;
  /** Enrolls a gateway; returns gatewayId and credential. */
  enroll(code: string, hardwareId?: string): Promise<{ gatewayId: string; credential: string }>;
  token(role: 'viewer' | 'operator' | 'admin'): Promise<string>;
  close(): Promise<void>;
}

export function randomHardwareId(): string {
  return crypto.createHash('sha256').update(crypto.randomBytes(16)).digest('base64');
}

export interface HarnessOptions {
  rateLimits?: { enrollFailuresPerMinute: number; authFailuresPerMinute: number };
  /** Count failures in PostgreSQL (rate_limit_hits), as replicas on one database do. */
  sharedRateLimits?: boolean;
  oidc?: Config['oidc'];
  mqtt?: Pick<Config['mqtt'], 'emqxHookToken' | 'username' | 'password'>;
  trustProxy?: Config['trustProxy'];
}

/**
 * The harness of one test file (or describe block): started in its beforeAll, closed in its
 * afterAll. The object answers once the harness runs, that is inside tests and later hooks.
 */
export function useHarness(opts: HarnessOptions = {}): Harness {
  return perFile(() => startHarness(opts), (h) => h.close());
}

/** The controller's services and REST API in this process, on a fresh database clone. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-harness-'));
  const vendor = await createTestVendor(dir);
  const logger = pino({ level: 'silent' });
  const services = await createServices(
    { dataDir: dir, signingKeyDir: path.join(dir, 'keys'), trustedIssuerFiles: [vendor.publicJwkFile], leaseIssuer: 'floatlease-test' },
    db.database.db,
    logger,
  );
  await services.tokens.bootstrapAdmin(ADMIN_TOKEN);
  const { router, registry } = buildApiRouter(
    { rateLimits: opts.rateLimits ?? { enrollFailuresPerMinute: 10_000, authFailuresPerMinute: 10_000 }, oidc: opts.oidc, ...(opts.mqtt ? { mqtt: opts.mqtt } : {}) },
    db.database.db,
    services,
    { sharedRateLimits: opts.sharedRateLimits ?? false },
  );
  const server = http.createServer(createApp({ logger, routers: [router], ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: Harness['api'] = async (method, p, body, token = ADMIN_TOKEN) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(url + p, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    // The CSV exports answer text/csv (its text is the body); everything else, refusals included, is JSON.
    const parsed: unknown = contentType.startsWith('text/csv') ? text : text ? JSON.parse(text) : undefined;
    return { status: res.status, body: parsed as never, contentType };
  };

  const h: Harness = {
    url,
    db,
    services,
    registry,
    api,
    license: (o) => vendor.license(o),
    async foreignLicense(o) {
      return (await createTestVendor(dir, `other-${crypto.randomUUID()}`)).license(o);
    },
    async pool(o = {}) {
      const created = await api<{ id: string }>('POST', '/api/v1/pools', { name: o.name ?? `pool-${crypto.randomUUID().slice(0, 8)}`, ...o.settings });
      if (created.status !== 201) throw new Error(`pool create failed: ${JSON.stringify(created.body)}`);
      const lic = await h.license({ tags: o.tags ?? 100, connections: o.connections ?? 10, plugins: o.plugins ?? ['OPC UA', 'Siemens S7 ISOTCP'] });
      const up = await api('PUT', `/api/v1/pools/${created.body.id}/license`, { license: lic });
      if (up.status !== 200) throw new Error(`license upload failed: ${JSON.stringify(up.body)}`);
      return created.body.id;
    },
    async code(poolId, seats = 10) {
      const r = await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats });
      if (r.status !== 201) throw new Error(`code create failed: ${JSON.stringify(r.body)}`);
      return r.body.code;
    },
    async enroll(code, hardwareId = randomHardwareId()) {
      const r = await api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId }, null);
      if (r.status !== 200) throw new Error(`enroll failed: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async token(role) {
      const r = await api<{ token: string }>('POST', '/api/v1/tokens', { name: `${role}-${crypto.randomUUID().slice(0, 6)}`, role });
      return r.body.token;
    },
    async close() {
      await services.pusher.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.drop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}
