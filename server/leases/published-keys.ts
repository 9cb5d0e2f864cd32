import { sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/database.js';
import { signingKeys } from '../db/schema.js';
import type { SigningKeyInfo } from '../signing/signing-key-store.js';
import { leaseStore } from './lease-store.js';

/**
 * The JWKS every replica serves: public keys recorded in the database, so agents verify leases
 * signed by any replica. A retired key leaves the set once no live lease was signed with it.
 */
export class PublishedKeys {
  private cache: { at: number; jwks: { keys: Record<string, unknown>[] } } | undefined;
  private readonly recorded = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs = 5_000,
  ) {}

  /** Writes the keys to the published set; inside a caller's transaction, `invalidate` once it commits. */
  async record(keys: readonly SigningKeyInfo[], q: DbOrTx = this.db): Promise<void> {
    for (const k of keys) {
      await q
        .insert(signingKeys)
        .values({ kid: k.kid, publicJwk: k.publicJwk, retiredAt: k.retiredAt ? new Date(k.retiredAt) : null })
        .onConflictDoUpdate({ target: signingKeys.kid, set: { retiredAt: k.retiredAt ? new Date(k.retiredAt) : null } });
    }
    if (q === this.db) this.invalidate(keys);
  }

  /** Forgets the cached JWKS and marks the keys as published (a new key signs only after that). */
  invalidate(keys: readonly SigningKeyInfo[]): void {
    this.cache = undefined;
    for (const k of keys) this.recorded.add(k.kid);
  }

  /** Whether this replica has written the key to the published set (a new key signs only after that). */
  isRecorded(kid: string): boolean {
    return this.recorded.has(kid);
  }

  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    if (this.cache && Date.now() - this.cache.at < this.cacheMs) return this.cache.jwks;
    const live = await leaseStore.liveKids(this.db);
    const rows = await this.db.select().from(signingKeys).orderBy(sql`${signingKeys.createdAt} desc`);
    const keys = rows.filter((r) => !r.retiredAt || live.includes(r.kid)).map((r) => r.publicJwk as Record<string, unknown>);
    const jwks = { keys };
    this.cache = { at: Date.now(), jwks };
    return jwks;
  }
}
