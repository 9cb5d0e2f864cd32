import { auditStore } from '../audit/audit-store.js';
import type { Db } from '../db/database.js';
import type { SigningKeyStore } from '../signing/signing-key-store.js';
import type { PublishedKeys } from './published-keys.js';

export interface SigningKeyView {
  readonly kid: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
  readonly signing: boolean;
}

/** Listing and rotating the lease-signing keys (see registerSigningKeyRoutes for what a rotation does). */
export class SigningKeyService {
  constructor(
    private readonly db: Db,
    private readonly keys: SigningKeyStore,
    private readonly published: PublishedKeys,
  ) {}

  list(): SigningKeyView[] {
    const current = this.keys.current().kid;
    return this.keys.keys().map((k) => ({
      kid: k.kid,
      createdAt: new Date(k.createdAt).toISOString(),
      retiredAt: k.retiredAt ? new Date(k.retiredAt).toISOString() : null,
      signing: k.kid === current,
    }));
  }

  /**
   * The key store (folder or sealed vault) rotates first; publishing the new key set and its audit row
   * then commit together, so the trail never shows a rotation whose key was not published, nor the reverse.
   */
  async rotate(actor: string): Promise<SigningKeyView[]> {
    const before = this.keys.current().kid;
    const created = await this.keys.rotate();
    await this.db.transaction(async (tx) => {
      await this.published.record(this.keys.keys(), tx);
      await auditStore.append(tx, [{ actor, action: 'signing-key.rotated', subject: created.kid, before: { kid: before }, after: { kid: created.kid } }]);
    });
    this.published.invalidate(this.keys.keys());
    return this.list();
  }
}
