import fs from 'node:fs/promises';
import path from 'node:path';
import { verifyPoolLicense, PoolLicenseError } from '../signing/pool-license.js';
import { AppError } from '../errors/app-error.js';
import type { PoolLicenseVerifier, VerifiedPoolLicense } from './pool-license-verifier.js';

async function readKeys(file: string): Promise<unknown[]> {
  const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as { keys?: unknown[] };
  return Array.isArray(parsed.keys) ? parsed.keys : [parsed];
}

/**
 * Trusted issuer keys come from the configured files plus every *.json in `<DATA_DIR>/trusted-issuers/`.
 * They are read at each upload (uploads are rare), so adding a vendor key needs no restart.
 */
export function trustedIssuerVerifier(files: readonly string[], dir: string, now: () => number = Date.now): PoolLicenseVerifier {
  const load = async (): Promise<unknown[]> => {
    const inDir = await fs.readdir(dir).catch(() => [] as string[]);
    const all = [...files, ...inDir.filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f))];
    const keys: unknown[] = [];
    for (const f of all) keys.push(...(await readKeys(f).catch(() => [])));
    return keys;
  };
  return {
    async verify(document: string): Promise<VerifiedPoolLicense> {
      try {
        const v = await verifyPoolLicense(document, { keys: await load() }, Math.floor(now() / 1000));
        if (v.notYetValid) throw new AppError('license-invalid', `license ${v.claims.sub} is not valid before ${new Date((v.claims.nbf ?? v.claims.iat) * 1000).toISOString()}`);
        return {
          licenseRef: v.claims.sub,
          issuer: v.claims.iss,
          kid: v.kid,
          customer: v.claims.customer,
          issuedAt: new Date(v.claims.iat * 1000),
          expiresAt: new Date(v.claims.exp * 1000),
          points: v.claims.points,
          plugins: v.claims.plugins,
        };
      } catch (err) {
        if (err instanceof PoolLicenseError) {
          const hint = err.reason === 'unknown-issuer-key' ? ' (add the vendor public key to TRUSTED_ISSUERS or <DATA_DIR>/trusted-issuers/)' : '';
          throw new AppError('license-invalid', `${err.message}${hint}`, { reason: err.reason });
        }
        throw err;
      }
    },
  };
}
