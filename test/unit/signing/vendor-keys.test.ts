import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuePoolLicense, verifyPoolLicense } from '../../../server/signing/pool-license.js';
import { generateVendorKeys, loadVendorPrivateKey, VendorKeyError } from '../../../server/signing/vendor-keys.js';
import { tempDirsPerTest } from './lease-fixtures.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const freshDir = tempDirsPerTest('vendor');

async function files() {
  const dir = await freshDir();
  return { privateKeyFile: path.join(dir, 'private', 'issuer.pem'), publicJwkFile: path.join(dir, 'issuer.jwk.json') };
}

describe('vendor issuer keys', () => {
  it('writes a 0600 PKCS#8 private key and a public JWK that verifies licenses it signs', async () => {
    const f = await files();
    const generated = await generateVendorKeys(f);
    expect((await fs.stat(f.privateKeyFile)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(f.privateKeyFile))).mode & 0o777).toBe(0o700);
    const pem = await fs.readFile(f.privateKeyFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const publicJwk = JSON.parse(await fs.readFile(f.publicJwkFile, 'utf8')) as Record<string, unknown>;
    expect(publicJwk).toEqual({ ...generated.publicJwk });
    expect(publicJwk).not.toHaveProperty('d');

    const issuer = await loadVendorPrivateKey(f.privateKeyFile);
    expect(issuer.kid).toBe(generated.kid);
    const nowSec = 1_795_000_000;
    const claims = {
      iss: 'me',
      sub: 'LIC-1',
      customer: 'Self',
      iat: nowSec,
      exp: nowSec + 3600,
      points: { tags: 100, connections: 3 },
      plugins: [],
    };
    const doc = await issuePoolLicense(issuer.privateKey, issuer.kid, claims);
    expect((await verifyPoolLicense(doc, { keys: [publicJwk] }, nowSec)).claims).toEqual(claims);
  });

  it.skipIf(!hasOpenssl)('writes a key OpenSSL reads as ED25519', async () => {
    const f = await files();
    await generateVendorKeys(f);
    const text = execFileSync('openssl', ['pkey', '-in', f.privateKeyFile, '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/ED25519 Private-Key/);
  });

  it('refuses to overwrite an existing issuer key unless told to', async () => {
    const f = await files();
    const first = await generateVendorKeys(f);
    await expect(generateVendorKeys(f)).rejects.toBeInstanceOf(VendorKeyError);
    expect((await loadVendorPrivateKey(f.privateKeyFile)).kid).toBe(first.kid);
    const second = await generateVendorKeys(f, { overwrite: true });
    expect(second.kid).not.toBe(first.kid);
  });

  it('refuses to load a world-readable or non-Ed25519 private key', async () => {
    const f = await files();
    await generateVendorKeys(f);
    await fs.chmod(f.privateKeyFile, 0o644);
    await expect(loadVendorPrivateKey(f.privateKeyFile)).rejects.toThrow(/other users/);
    await fs.writeFile(f.privateKeyFile, 'hello', { mode: 0o600 });
    await fs.chmod(f.privateKeyFile, 0o600);
    await expect(loadVendorPrivateKey(f.privateKeyFile)).rejects.toBeInstanceOf(VendorKeyError);
  });
});
