import type { KeySetDocument } from '../../shared/protocol/key-set.js';
import type { SigningKeyInfo } from './signing-key-store.js';

/**
 * After a rotation every agent meets a kid it has not pinned. Leases signed by a rotated-in key (the
 * controller still holds an older one) younger than `windowMs` carry the vouched key set, so an agent
 * adopts the new key from the lease that first uses it (no fetch, even when only the broker is
 * reachable). Other leases carry nothing: the set adds about 1.5 KB to a lease, and an agent that
 * missed the window fetches it from KEY_SET_PATH as before.
 */
export class FreshKeyAnnouncer {
  private readonly createdAt = new Map<string, number>();

  constructor(
    private readonly keys: { keys(): SigningKeyInfo[] },
    private readonly keySet: () => Promise<KeySetDocument>,
    private readonly logger: { warn(obj: object, msg: string): void },
    private readonly windowMs: number = FRESH_KEY_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key set to send with a lease signed by `kid`, or undefined when the key is not new. Never rejects. */
  async forKid(kid: string): Promise<KeySetDocument | undefined> {
    const held = this.keys.keys();
    // A controller's first key is the one agents pinned at enrollment: nothing to announce.
    if (held.length < 2) return undefined;
    let created = this.createdAt.get(kid);
    if (created === undefined) {
      created = held.find((k) => k.kid === kid)?.createdAt;
      if (created === undefined) return undefined;
      this.createdAt.set(kid, created);
    }
    if (this.now() - created >= this.windowMs) return undefined;
    try {
      return await this.keySet();
    } catch (err) {
      // The lease still goes out; an agent that does not pin the key fetches the set itself.
      this.logger.warn({ err, kid }, 'could not attach the vouched key set to a lease');
      return undefined;
    }
  }
}

/** One hour: agents renew every third of their lease lifetime, so any pool of TTL up to 3 h is covered. */
export const FRESH_KEY_WINDOW_MS = 3_600_000;
