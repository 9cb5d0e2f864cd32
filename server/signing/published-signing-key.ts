import type { SigningKeySource } from './lease-signer.js';
import type { SigningKey } from './signing-key-store.js';

export interface KeyHolder {
  current(): SigningKey;
  signingKey(kid: string): SigningKey | undefined;
}

/**
 * Rotation order: a new key signs only once it is published (in the JWKS and the vouched key set).
 * Until then leases keep the previous published key, so no agent meets a kid it cannot look up.
 */
export class PublishedSigningKey implements SigningKeySource {
  private lastServed: string | undefined;

  constructor(
    private readonly keys: KeyHolder,
    private readonly isPublished: (kid: string) => boolean,
  ) {}

  current(): SigningKey {
    const newest = this.keys.current();
    if (this.isPublished(newest.kid)) {
      this.lastServed = newest.kid;
      return newest;
    }
    const previous = this.lastServed === undefined ? undefined : this.keys.signingKey(this.lastServed);
    return previous ?? newest;
  }
}
