import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openDatabase, type Database } from '../../../server/db/database.js';
import { createServices, type Services } from '../../../server/services.js';
import { createTestVendor, type TestVendor } from '../../helpers/vendor.js';
import type { Replica } from './operations.js';

/** One controller replica on the shared database: its own connection pool and services. */
export interface ReplicaHandle extends Replica {
  readonly services: Services;
  readonly database: Database;
  close(): Promise<void>;
}

/**
 * Controller replicas as in a multi-replica deployment (server/services.ts): each opens its own
 * connection pool on the same database; they share the signing key directory and trust one vendor.
 */
export interface ReplicaSet {
  start(poolMax?: number): Promise<ReplicaHandle>;
  /** A pool license every replica of the set trusts. */
  license(points: { tags: number; connections: number }): Promise<string>;
  close(): Promise<void>;
}

export async function replicaSet(databaseUrl: string): Promise<ReplicaSet> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-replicas-'));
  const vendor: TestVendor = await createTestVendor(dir, 'replica-vendor');
  const open: ReplicaHandle[] = [];
  return {
    async start(poolMax = 10) {
      const database = openDatabase(databaseUrl, poolMax);
      const dataDir = path.join(dir, `replica-${crypto.randomUUID().slice(0, 8)}`);
      const services = await createServices(
        { dataDir, signingKeyDir: path.join(dir, 'keys'), trustedIssuerFiles: [vendor.publicJwkFile], leaseIssuer: 'floatlease-test' },
        database.db,
        pino({ level: 'silent' }),
      );
      const handle: ReplicaHandle = {
        services,
        database,
        db: database.db,
        async close() {
          open.splice(open.indexOf(handle), 1);
          await services.pusher.idle();
          // A short timeout: a pool broken by a killed backend may never finish its queries.
          await database.sql.end({ timeout: 0.2 });
        },
      };
      open.push(handle);
      return handle;
    },
    license: (points) => vendor.license({ ...points, plugins: [] }),
    async close() {
      await Promise.all([...open].map((r) => r.close()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
