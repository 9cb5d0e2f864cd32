import { GeneralSign } from 'jose';
import { KEY_SET_TYP, type KeySetDocument } from '../../shared/protocol/key-set.js';
import type { SigningKey, SigningKeyInfo } from './signing-key-store.js';

export interface VouchingKeySource {
  keys(): SigningKeyInfo[];
  signingKey(kid: string): SigningKey | undefined;
}

const encoder = new TextEncoder();

/**
 * Signs the published key set with every key this controller still holds (the signing key and the
 * retired ones), so an agent that pins any of them can adopt the others. Cached per set: a new
 * signature is made only when the published keys or the holding keys change.
 */
export class KeySetVoucher {
  private cache: { id: string; doc: Promise<KeySetDocument> } | undefined;

  constructor(
    private readonly keys: VouchingKeySource,
    private readonly jwks: () => Promise<{ keys: Record<string, unknown>[] }>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async document(): Promise<KeySetDocument> {
    const { keys } = await this.jwks();
    const signers = this.keys.keys().flatMap((k) => {
      const key = this.keys.signingKey(k.kid);
      return key ? [key] : [];
    });
    if (signers.length === 0) throw new Error('no signing key to vouch for the key set');
    const id = JSON.stringify([keys.map((k) => k.kid), signers.map((k) => k.kid)]);
    if (this.cache?.id !== id) {
      const doc = this.sign(keys, signers);
      doc.catch(() => (this.cache = undefined));
      this.cache = { id, doc };
    }
    return this.cache.doc;
  }

  private async sign(keys: Record<string, unknown>[], signers: SigningKey[]): Promise<KeySetDocument> {
    const payload = { iat: Math.floor(this.nowMs() / 1000), keys };
    const jws = new GeneralSign(encoder.encode(JSON.stringify(payload)));
    for (const k of signers) jws.addSignature(k.privateKey).setProtectedHeader({ alg: 'EdDSA', kid: k.kid, typ: KEY_SET_TYP });
    const signed = await jws.sign();
    return { payload: signed.payload, signatures: signed.signatures.map((s) => ({ protected: s.protected ?? '', signature: s.signature })) };
  }
}
