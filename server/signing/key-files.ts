import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  ed25519PrivateJwkSchema,
  importEd25519PrivateJwk,
  pkcs8ToPrivateJwk,
  type Ed25519Key,
  type Ed25519PrivateJwk,
} from './ed25519-key.js';
import { writeFileAtomic } from '../../shared/fs/write-file-atomic.js';
import { describeIssues } from '../../shared/zod-issues.js';

export interface KeyStoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Refusals name the file and the problem, never the key material. */
export class SigningKeyError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'SigningKeyError';
  }
}

const keyFileSchema = z.object({
  kid: z.string().min(1),
  alg: z.literal('EdDSA'),
  createdAt: z.iso.datetime(),
  retiredAt: z.iso.datetime().optional(),
  privateJwk: ed25519PrivateJwkSchema,
});

export interface KeyFileEntry extends Ed25519Key {
  readonly createdAt: number;
  readonly retiredAt: number | undefined;
  /** `<kid>.json`, our own format, which also carries the creation and retirement times. */
  readonly jsonFile: string | undefined;
  /** A PKCS#8 PEM dropped in by an operator (e.g. from a Kubernetes Secret); its mtime is its creation time. */
  readonly pemFile: string | undefined;
}

export async function ensurePrivateDir(dir: string, logger: KeyStoreLogger): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if ((st.mode & 0o077) === 0) return;
  try {
    await chmod(dir, 0o700);
  } catch {
    logger.warn({ dir, mode: (st.mode & 0o777).toString(8) }, 'signing key directory is accessible by other users');
  }
}

export async function readKeyDir(dir: string, logger: KeyStoreLogger): Promise<KeyFileEntry[]> {
  const byKid = new Map<string, KeyFileEntry>();
  for (const name of (await readdir(dir)).sort()) {
    const file = path.join(dir, name);
    const entry = name.endsWith('.json') ? await readJsonKey(file, logger) : name.endsWith('.pem') ? await readPemKey(file, logger) : undefined;
    if (!entry) continue;
    const seen = byKid.get(entry.kid);
    byKid.set(entry.kid, seen ? merge(seen, entry) : entry);
  }
  return [...byKid.values()];
}

export async function writeKeyFile(dir: string, jwk: Ed25519PrivateJwk, kid: string, createdAt: number, retiredAt?: number): Promise<string> {
  const file = path.join(dir, `${kid}.json`);
  const doc = {
    kid,
    alg: 'EdDSA',
    createdAt: new Date(createdAt).toISOString(),
    ...(retiredAt === undefined ? {} : { retiredAt: new Date(retiredAt).toISOString() }),
    privateJwk: jwk,
  };
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
  return file;
}

/** Re-reads the private half from disk only when it must be rewritten, so it is not kept in memory. */
export async function readPrivateJwk(entry: KeyFileEntry): Promise<Ed25519PrivateJwk> {
  if (entry.jsonFile) return keyFileSchema.parse(JSON.parse(await readFile(entry.jsonFile, 'utf8'))).privateJwk;
  if (entry.pemFile) return pkcs8ToPrivateJwk(await readFile(entry.pemFile, 'utf8'));
  throw new SigningKeyError(`key ${entry.kid} has no file`);
}

async function readJsonKey(file: string, logger: KeyStoreLogger): Promise<KeyFileEntry> {
  await checkMode(file, logger);
  let doc: z.infer<typeof keyFileSchema>;
  try {
    doc = keyFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new SigningKeyError(`not a valid key file (${describe(err)})`, file);
  }
  const key = await importOrExplain(doc.privateJwk, file);
  if (key.kid !== doc.kid) throw new SigningKeyError(`kid ${doc.kid} does not match the key's thumbprint ${key.kid}`, file);
  const retiredAt = doc.retiredAt === undefined ? undefined : Date.parse(doc.retiredAt);
  return { ...key, createdAt: Date.parse(doc.createdAt), retiredAt, jsonFile: file, pemFile: undefined };
}

async function readPemKey(file: string, logger: KeyStoreLogger): Promise<KeyFileEntry> {
  const st = await checkMode(file, logger);
  let jwk: Ed25519PrivateJwk;
  try {
    jwk = pkcs8ToPrivateJwk(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SigningKeyError(`not a PKCS#8 PEM Ed25519 private key (${describe(err)})`, file);
  }
  const key = await importOrExplain(jwk, file);
  return { ...key, createdAt: Math.floor(st.mtimeMs), retiredAt: undefined, jsonFile: undefined, pemFile: file };
}

async function importOrExplain(jwk: Ed25519PrivateJwk, file: string): Promise<Ed25519Key> {
  try {
    return await importEd25519PrivateJwk(jwk);
  } catch (err) {
    throw new SigningKeyError(`unusable key (${describe(err)})`, file);
  }
}

/**
 * A private key other users can read or anyone but its owner can write is refused, as ssh does.
 * Group read is accepted quietly: a Kubernetes Secret mounted with defaultMode 0400 and the pod's
 * fsGroup arrives as 0440, owned by root and group fsGroup, and that group is how the non-root
 * controller reads it. stat follows the Secret volume's ..data symlinks to the real file.
 */
async function checkMode(file: string, logger: KeyStoreLogger) {
  const st = await stat(file);
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if ((st.mode & 0o007) !== 0) {
    throw new SigningKeyError(`private key is accessible by other users (mode ${mode}); chmod 600 it, or mount its Secret with defaultMode 0400`, file);
  }
  if ((st.mode & 0o020) !== 0) throw new SigningKeyError(`private key is writable by its group (mode ${mode}); chmod 600 it`, file);
  if ((st.mode & 0o040) !== 0) logger.info({ file, mode }, 'private key is readable by its group (a Secret mounted with fsGroup)');
  return st;
}

/** JSON metadata wins over a PEM holding the same key: retirement is recorded in the JSON file. */
function merge(a: KeyFileEntry, b: KeyFileEntry): KeyFileEntry {
  const json = a.jsonFile ? a : b;
  return { ...json, jsonFile: a.jsonFile ?? b.jsonFile, pemFile: a.pemFile ?? b.pemFile };
}

/** Error text without values: zod issues by path, other errors by message. */
function describe(err: unknown): string {
  if (err instanceof z.ZodError) return describeIssues(err.issues, { codesOnly: true });
  if (err instanceof SyntaxError) return 'invalid JSON';
  return err instanceof Error ? err.message : String(err);
}
