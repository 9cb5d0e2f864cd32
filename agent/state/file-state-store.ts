import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../shared/fs/write-file-atomic.js';
import { describeIssue } from '../../shared/zod-issues.js';

export interface StateLogger {
  warn(obj: object, msg: string): void;
}

const agentCredentialSchema = z.object({
  gatewayId: z.uuid(),
  secret: z.string().min(1),
});
export type AgentCredential = z.infer<typeof agentCredentialSchema>;

const storedLeaseSchema = z.object({
  jws: z.string().min(1),
  seq: z.int().positive(),
  /** Wall-clock ms at acceptance; on boot the holder caps the remaining lifetime to ttl from here. */
  receivedAt: z.int().nonnegative(),
});
export type StoredLease = z.infer<typeof storedLeaseSchema>;

/** `lastSeq` outlives the lease: after a release the lease is gone but an old one must still be refused. */
export interface LeaseState {
  readonly lastSeq: number;
  readonly lease: StoredLease | undefined;
}

/**
 * What must outlive the lease file: the seq high-water mark and the time floor (a lower bound of
 * true time, see TimeFloor). Deleting lease.json therefore neither resets the seq nor the floor.
 */
const leaseGuardSchema = z.object({
  highSeq: z.int().nonnegative(),
  floorMs: z.int().nonnegative(),
  /** The monotonic clock when the floor was saved and the boot it belongs to: within one boot, a restart's downtime counts too. */
  monoMs: z.number().nonnegative().optional(),
  bootId: z.string().max(100).optional(),
});
export type LeaseGuard = z.infer<typeof leaseGuardSchema>;

/** What leases are verified against: the pinned JWKS and the issuer/audience learnt at enrollment. */
export const trustAnchorSchema = z.object({
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  issuer: z.string().min(1).optional(),
  audience: z.string().min(1),
  /** `iat` of the vouched key set pinned last; an older set is never adopted again. */
  keySetIat: z.int().nonnegative().optional(),
});
export type TrustAnchor = z.infer<typeof trustAnchorSchema>;

/** An offline license file loaded here that the controller has not yet confirmed recording. */
const fileReportSchema = z.object({ jti: z.uuid(), seq: z.int().positive(), loadedAt: z.int().nonnegative() });
export type FileReport = z.infer<typeof fileReportSchema>;
/** Files are loaded by hand: a handful waits at most; the oldest go first past this. */
export const MAX_FILE_REPORTS = 32;

const credentialFileSchema = z.object({ version: z.literal(1), credential: agentCredentialSchema });
const leaseFileSchema = z.object({ version: z.literal(1), lastSeq: z.int().nonnegative(), lease: storedLeaseSchema.nullable() });

const trustFileSchema = z.object({ version: z.literal(1), trust: trustAnchorSchema });
const guardFileSchema = z.object({ version: z.literal(1), guard: leaseGuardSchema });
const reportsFileSchema = z.object({ version: z.literal(1), reports: z.array(fileReportSchema).max(MAX_FILE_REPORTS) });

const CREDENTIAL_FILE = 'credential.json';
const TRUST_FILE = 'trust.json';
const LEASE_FILE = 'lease.json';
const GUARD_FILE = 'guard.json';
const REPORTS_FILE = 'license-file-reports.json';

/**
 * The agent's durable state: its credential, its pinned keys and its last good lease, one small JSON file each,
 * written atomically with mode 0600 in a 0700 folder. A damaged file is reported and treated as absent.
 * Symbolic links are never followed (files are opened with O_NOFOLLOW, permissions fixed after lstat),
 * so a link planted in the folder cannot make the agent read or chmod a file elsewhere.
 * The stored lease is only data: it is verified again and handed to `LeaseHolder.restore` on boot.
 */
export class FileStateStore {
  constructor(private readonly options: { readonly dir: string; readonly logger: StateLogger }) {}

  async loadCredential(): Promise<AgentCredential | undefined> {
    return (await this.read(CREDENTIAL_FILE, credentialFileSchema))?.credential;
  }

  async saveCredential(credential: AgentCredential): Promise<void> {
    await this.write(CREDENTIAL_FILE, { version: 1, credential: agentCredentialSchema.parse(credential) });
  }

  async loadTrust(): Promise<TrustAnchor | undefined> {
    return (await this.read(TRUST_FILE, trustFileSchema))?.trust;
  }

  /** Pinned at enrollment and replaced when the controller rotates its signing keys. */
  async saveTrust(trust: TrustAnchor): Promise<void> {
    await this.write(TRUST_FILE, { version: 1, trust: trustAnchorSchema.parse(trust) });
  }

  /** Creates the folder if needed and tightens the folder's and its files' permissions (call at boot). */
  async prepare(): Promise<void> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.tightenMode(dir, 0o700);
    for (const name of await readdir(dir)) await this.tightenMode(path.join(dir, name));
  }

  async loadGuard(): Promise<LeaseGuard | undefined> {
    return (await this.read(GUARD_FILE, guardFileSchema))?.guard;
  }

  async saveGuard(guard: LeaseGuard): Promise<void> {
    await this.write(GUARD_FILE, { version: 1, guard: leaseGuardSchema.parse(guard) });
  }

  /** Offline license files loaded while the controller was out of reach: reported at the next contact. */
  async loadFileReports(): Promise<FileReport[]> {
    return (await this.read(REPORTS_FILE, reportsFileSchema))?.reports ?? [];
  }

  async saveFileReports(reports: readonly FileReport[]): Promise<void> {
    await this.write(REPORTS_FILE, { version: 1, reports: z.array(fileReportSchema).max(MAX_FILE_REPORTS).parse(reports) });
  }

  async loadLease(): Promise<LeaseState> {
    const doc = await this.read(LEASE_FILE, leaseFileSchema);
    if (!doc) return { lastSeq: 0, lease: undefined };
    return { lastSeq: Math.max(doc.lastSeq, doc.lease?.seq ?? 0), lease: doc.lease ?? undefined };
  }

  async saveLease(lease: StoredLease): Promise<void> {
    const parsed = storedLeaseSchema.parse(lease);
    await this.write(LEASE_FILE, { version: 1, lastSeq: parsed.seq, lease: parsed });
  }

  /** After a release: forget the lease (its points went back to the pool) but keep the seq high-water mark. */
  async clearLease(lastSeq: number): Promise<void> {
    await this.write(LEASE_FILE, { version: 1, lastSeq: z.int().nonnegative().parse(lastSeq), lease: null });
  }

  private async read<T>(name: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const file = path.join(this.options.dir, name);
    let text: string;
    try {
      // O_NOFOLLOW: a symbolic link in place of a state file is refused (ELOOP), never read through.
      const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
        if ((st.mode & 0o077) !== 0) await fh.chmod(0o600);
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.options.logger.warn({ file, code: (err as NodeJS.ErrnoException).code }, 'state file unreadable (or a link); ignoring it');
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.options.logger.warn({ file }, 'state file is not valid JSON; ignoring it');
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Paths only: the values may include the credential secret.
      const issues = parsed.error.issues.map((i) => describeIssue(i, { codesOnly: true }));
      this.options.logger.warn({ file, issues }, 'state file has an unexpected shape; ignoring it');
      return undefined;
    }
    return parsed.data;
  }

  private async write(name: string, doc: object): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    await this.tightenMode(this.options.dir, 0o700);
    await writeFileAtomic(path.join(this.options.dir, name), `${JSON.stringify(doc)}\n`, 0o600);
  }

  /** lstat, so a link is reported and left alone rather than followed to a file outside the folder. */
  private async tightenMode(target: string, mode = 0o600): Promise<void> {
    try {
      const st = await lstat(target);
      if (st.isSymbolicLink()) {
        this.options.logger.warn({ target }, 'a symbolic link in the state folder; not following it');
        return;
      }
      if ((st.mode & 0o077) !== 0) await chmod(target, mode);
    } catch (err) {
      this.options.logger.warn({ target, code: (err as NodeJS.ErrnoException).code }, 'cannot restrict permissions');
    }
  }
}
