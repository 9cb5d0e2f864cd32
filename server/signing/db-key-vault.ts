import crypto from 'node:crypto';
import { and, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { signingKeys } from '../db/schema.js';
import { ed25519PrivateJwkSchema, type Ed25519PrivateJwk, type PublishedJwk } from './ed25519-key.js';

/** A key as the vault holds it; the private half is decrypted only to be imported. */
export interface VaultKey {
  readonly kid: string;
  readonly createdAt: number;
  readonly retiredAt: number | undefined;
  readonly privateJwk: Ed25519PrivateJwk;
}

/** Where the store keeps keys shared by every replica (see SigningKeyStore's `vault` option). */
export interface KeyVault {
  load(): Promise<VaultKey[]>;
  insert(kid: string, jwk: Ed25519PrivateJwk, publicJwk: PublishedJwk, createdAt: number): Promise<void>;
  retire(kids: readonly string[], at: number): Promise<void>;
  /** Drops the private halves of pruned keys (the public rows stay for the JWKS history). */
  forget(kids: readonly string[]): Promise<void>;
}

const VERSION = 'v1';

/**
 * Signing keys in the database, their private halves sealed with AES-256-GCM under a key-encryption
 * key (SIGNING_KEY_KEK, 32 bytes in base64, from a Secret). The kid is the additional authenticated
 * data, so a sealed key copied onto another row does not open. A database dump alone signs nothing.
 */
export class DbKeyVault implements KeyVault {
  private readonly kek: Buffer;

  constructor(
    private readonly db: Db,
    kekBase64: string,
  ) {
    this.kek = parseKek(kekBase64);
  }

  async load(): Promise<VaultKey[]> {
    const rows = await this.db.select().from(signingKeys).where(isNotNull(signingKeys.sealedPrivateJwk));
    return rows.map((r) => ({
      kid: r.kid,
      createdAt: r.createdAt.getTime(),
      retiredAt: r.retiredAt?.getTime(),
      privateJwk: this.open(r.kid, r.sealedPrivateJwk!),
    }));
  }

  async insert(kid: string, jwk: Ed25519PrivateJwk, publicJwk: PublishedJwk, createdAt: number): Promise<void> {
    await this.db
      .insert(signingKeys)
      .values({ kid, publicJwk, createdAt: new Date(createdAt), sealedPrivateJwk: this.seal(kid, jwk) })
      .onConflictDoUpdate({ target: signingKeys.kid, set: { sealedPrivateJwk: this.seal(kid, jwk) } });
  }

  async retire(kids: readonly string[], at: number): Promise<void> {
    if (kids.length === 0) return;
    await this.db
      .update(signingKeys)
      .set({ retiredAt: new Date(at) })
      .where(and(inArray(signingKeys.kid, [...kids]), isNull(signingKeys.retiredAt)));
  }

  async forget(kids: readonly string[]): Promise<void> {
    if (kids.length === 0) return;
    await this.db.update(signingKeys).set({ sealedPrivateJwk: null }).where(inArray(signingKeys.kid, [...kids]));
  }

  seal(kid: string, jwk: Ed25519PrivateJwk): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.kek, iv);
    cipher.setAAD(Buffer.from(kid));
    const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(kid: string, sealed: string): Ed25519PrivateJwk {
    const [version, iv, body] = sealed.split('.');
    if (version !== VERSION || !iv || !body) throw new Error(`signing key ${kid}: unknown sealed format`);
    const raw = Buffer.from(body, 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.kek, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      const json = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString('utf8');
      return ed25519PrivateJwkSchema.parse(JSON.parse(json));
    } catch {
      // Never the key material: only which key and why.
      throw new Error(`signing key ${kid}: cannot be opened with SIGNING_KEY_KEK (another key-encryption key?)`);
    }
  }
}

function parseKek(kekBase64: string): Buffer {
  const kek = Buffer.from(kekBase64, 'base64');
  if (kek.length !== 32) throw new Error('SIGNING_KEY_KEK must be 32 bytes in base64 (e.g. openssl rand -base64 32)');
  return kek;
}
