import { access, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  ed25519Kid,
  generateEd25519PrivateJwk,
  importEd25519PrivateJwk,
  pkcs8ToPrivateJwk,
  privateJwkToPkcs8,
  type Ed25519Key,
  type PublishedJwk,
} from './ed25519-key.js';
import { writeFileAtomic } from '../../shared/fs/write-file-atomic.js';

export interface VendorKeyFiles {
  /** PKCS#8 PEM, mode 0600: keep it offline, it mints pool licenses. */
  readonly privateKeyFile: string;
  /** The public JWK (with kid) to put in the controller's trusted issuer keys. */
  readonly publicJwkFile: string;
}

export interface GeneratedVendorKeys extends VendorKeyFiles {
  readonly kid: string;
  readonly publicJwk: PublishedJwk;
}

export class VendorKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VendorKeyError';
  }
}

/** Creates an issuer key pair; refuses to overwrite existing files unless told to. */
export async function generateVendorKeys(files: VendorKeyFiles, options: { overwrite?: boolean } = {}): Promise<GeneratedVendorKeys> {
  if (!options.overwrite) {
    for (const file of [files.privateKeyFile, files.publicJwkFile]) {
      if (await exists(file)) throw new VendorKeyError(`${file} already exists; refusing to overwrite an issuer key`);
    }
  }
  await mkdir(path.dirname(path.resolve(files.privateKeyFile)), { recursive: true, mode: 0o700 });
  await mkdir(path.dirname(path.resolve(files.publicJwkFile)), { recursive: true });
  const jwk = await generateEd25519PrivateJwk();
  const kid = await ed25519Kid(jwk);
  const publicJwk: PublishedJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: 'EdDSA', use: 'sig' };
  await writeFileAtomic(files.privateKeyFile, privateJwkToPkcs8(jwk), 0o600);
  await writeFileAtomic(files.publicJwkFile, `${JSON.stringify(publicJwk, null, 2)}\n`, 0o644);
  return { ...files, kid, publicJwk };
}

/** Loads an issuer private key for `issuePoolLicense`; its kid is the public key's thumbprint. */
export async function loadVendorPrivateKey(file: string): Promise<Ed25519Key> {
  const st = await stat(file);
  if ((st.mode & 0o007) !== 0) throw new VendorKeyError(`${file} is accessible by other users; chmod 600 it`);
  try {
    return await importEd25519PrivateJwk(pkcs8ToPrivateJwk(await readFile(file, 'utf8')));
  } catch (err) {
    throw new VendorKeyError(`${file} is not a PKCS#8 PEM Ed25519 private key (${err instanceof Error ? err.message : String(err)})`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
