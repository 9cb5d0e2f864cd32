import crypto from 'node:crypto';
import path from 'node:path';
import { issuePoolLicense } from '../../server/signing/pool-license.js';
import { generateVendorKeys, loadVendorPrivateKey } from '../../server/signing/vendor-keys.js';

export interface LicenseOptions {
  tags: number;
  connections: number;
  plugins?: string[];
  expiresInSec?: number;
  customer?: string;
}

export interface TestVendor {
  /** The public JWK file a controller trusts (TRUSTED_ISSUERS). */
  readonly publicJwkFile: string;
  license(opts: LicenseOptions): Promise<string>;
}

/** A pool-license issuer for tests: its key pair lives in `dir`. */
export async function createTestVendor(dir: string, name = 'vendor'): Promise<TestVendor> {
  const files = await generateVendorKeys({ privateKeyFile: path.join(dir, `${name}.key.pem`), publicJwkFile: path.join(dir, `${name}.pub.json`) });
  const key = await loadVendorPrivateKey(files.privateKeyFile);
  return {
    publicJwkFile: files.publicJwkFile,
    license: (o) => {
      const now = Math.floor(Date.now() / 1000);
      return issuePoolLicense(key.privateKey, key.kid, {
        iss: 'test-vendor',
        sub: crypto.randomUUID(),
        customer: o.customer ?? 'ACME',
        iat: now - 60,
        exp: now + (o.expiresInSec ?? 365 * 86_400),
        points: { tags: o.tags, connections: o.connections },
        plugins: o.plugins ?? [],
      });
    },
  };
}
