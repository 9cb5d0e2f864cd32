import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { LeaseService, type LeaseServiceOptions } from '../../../server/leases/lease-service.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import { LEASE_AUDIENCE } from '../../../shared/protocol/lease-claims.js';
import { useHarness, type Harness } from '../../helpers/api-harness.js';

export interface InvariantHarness {
  /** The controller under test: services and REST API on a fresh database clone. */
  readonly h: Harness;
  /** The independent checker's own connection (one, outside the controller's pool). */
  readonly checker: { readonly sql: Sql };
}

/**
 * The invariant files' fixture, made in the file's beforeAll and closed in its afterAll: the
 * harness, and a connection of the checker's own so that sampling never waits for (nor takes)
 * one of the controller's. Hooks run as a stack, so the checker ends before the harness closes.
 */
export function useInvariantHarness(): InvariantHarness {
  const h = useHarness();
  let sql: Sql | undefined;
  beforeAll(() => {
    sql = postgres(h.db.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
  });
  const checker = {
    get sql(): Sql {
      if (!sql) throw new Error('the checker connection is not open yet: use it inside a test or hook');
      return sql;
    },
  };
  return { h, checker };
}

/**
 * A second LeaseService on the harness's database and keys with a replaced grant policy: how the
 * invariant files inject a deliberately broken grant for the checkers to catch.
 */
export function leaseServiceWithPolicy(h: Harness, grantPolicy: NonNullable<LeaseServiceOptions['grantPolicy']>): LeaseService {
  return new LeaseService(h.db.database.db, new LeaseSigner(h.services.keys), { issuer: 'floatlease-test', audience: LEASE_AUDIENCE, grantPolicy });
}
