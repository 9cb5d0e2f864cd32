import crypto from 'node:crypto';

/** High-entropy secrets (256 bits) need no slow KDF: a SHA-256 digest is stored, never the secret. */
export function newSecret(prefix: string): string {
  return `${prefix}${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

export const API_TOKEN_PREFIX = 'fl_';
export const ACTIVATION_CODE_PREFIX = 'FLAC-';

/** A gateway credential names its gateway so it can be checked with one primary-key lookup. */
export function newGatewayCredential(gatewayId: string): string {
  return `flg.${gatewayId}.${crypto.randomBytes(32).toString('base64url')}`;
}

export function gatewayIdOfCredential(credential: string): string | undefined {
  const m = /^flg\.([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(credential);
  return m?.[1];
}
