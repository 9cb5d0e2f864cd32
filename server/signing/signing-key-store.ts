import { rm, stat } from 'node:fs/promises';
import type { KeyVault } from './db-key-vault.js';
import { ed25519Kid, generateEd25519PrivateJwk, importEd25519PrivateJwk, type PublishedJwk } from './ed25519-key.js';
import {
  ensurePrivateDir,
  readKeyDir,
  readPrivateJwk,
  writeKeyFile,
  type KeyFileEntry,
  type KeyStoreLogger,
} from './key-files.js';

interface WallClock {
  now(): number;
}

export interface SigningKeyStoreOptions {
  readonly dir: string;
  readonly clock: WallClock;
  readonly logger: KeyStoreLogger;
  /**
   * Keys shared by every replica (the database, sealed with a key-encryption key). The folder then
   * only seeds an empty vault (an upgrade keeps its key); `refreshMs` bounds how long a rotation on
   * another replica takes to reach this one.
   */
  readonly vault?: { readonly store: KeyVault; readonly refreshMs: number };
}

/** What signs: the kid for the header and a non-extractable private key. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

export interface SigningKeyInfo {
  readonly kid: string;
  readonly publicJwk: PublishedJwk;
  readonly createdAt: number;
  readonly retiredAt: number | undefined;
}

/**
 * Ed25519 signing keys in a private folder, one file per key. The newest key that is not retired
 * signs; retired keys stay in the JWKS until the leases they signed have expired (see prune).
 */
export class SigningKeyStore {
  private queue: Promise<unknown> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: SigningKeyStoreOptions,
    private entries: KeyFileEntry[],
  ) {}

  /** Loads every key in the folder, creating the folder and a first key if there is no usable one. */
  static async open(options: SigningKeyStoreOptions): Promise<SigningKeyStore> {
    if (options.vault) return SigningKeyStore.openShared(options, options.vault);
    await ensurePrivateDir(options.dir, options.logger);
    const store = new SigningKeyStore(options, await readKeyDir(options.dir, options.logger));
    if (!store.active()) await store.createKey();
    return store;
  }

  private static async openShared(options: SigningKeyStoreOptions, vault: NonNullable<SigningKeyStoreOptions['vault']>): Promise<SigningKeyStore> {
    const store = new SigningKeyStore(options, []);
    await store.refresh();
    if (!store.active()) {
      // First start on a shared vault: bring this replica's folder keys along, if it has any.
      const local = (await stat(options.dir).catch(() => undefined)) ? await readKeyDir(options.dir, options.logger) : [];
      for (const e of local) {
        await vault.store.insert(e.kid, await readPrivateJwk(e), e.publicJwk, e.createdAt);
        if (e.retiredAt !== undefined) await vault.store.retire([e.kid], e.retiredAt);
      }
      await store.refresh();
      if (!store.active()) await store.createKey();
    }
    store.refreshTimer = setInterval(() => {
      store.refresh().catch((err: unknown) => options.logger.warn({ err }, 'could not reload the shared signing keys; retrying'));
    }, vault.refreshMs);
    store.refreshTimer.unref();
    return store;
  }

  /** Reloads the shared keys (a rotation on another replica); no-op for a folder. */
  refresh(): Promise<void> {
    const vault = this.options.vault;
    if (!vault) return Promise.resolve();
    return this.serial(async () => {
      const known = new Map(this.entries.map((e) => [e.kid, e]));
      const before = this.active()?.kid;
      const next: KeyFileEntry[] = [];
      for (const k of await vault.store.load()) {
        const key = known.get(k.kid) ?? { ...(await importEd25519PrivateJwk(k.privateJwk)), jsonFile: undefined, pemFile: undefined };
        next.push({ ...key, createdAt: k.createdAt, retiredAt: k.retiredAt });
      }
      this.entries = next;
      const after = this.active()?.kid;
      if (before !== undefined && after !== before) this.options.logger.info({ kid: after, previous: before }, 'signing key switched (shared keys reloaded)');
    });
  }

  /** Stops reloading shared keys. */
  close(): void {
    clearInterval(this.refreshTimer);
  }

  current(): SigningKey {
    const entry = this.active();
    if (!entry) throw new Error('no active signing key');
    return { kid: entry.kid, privateKey: entry.privateKey };
  }

  /** A key the store still holds, retired or not: retired keys still vouch for their successors. */
  signingKey(kid: string): SigningKey | undefined {
    const entry = this.entries.find((e) => e.kid === kid);
    return entry ? { kid: entry.kid, privateKey: entry.privateKey } : undefined;
  }

  keys(): SigningKeyInfo[] {
    return this.entries.map(({ kid, publicJwk, createdAt, retiredAt }) => ({ kid, publicJwk, createdAt, retiredAt }));
  }

  /** Every key an agent may still meet: the signing key and the retired ones not yet pruned. */
  publicJwks(): { keys: PublishedJwk[] } {
    return { keys: [...this.entries].sort(newestFirst).map((e) => e.publicJwk) };
  }

  /** Creates a new signing key and retires the previous ones; returns the new key. */
  rotate(): Promise<SigningKeyInfo> {
    return this.serial(async () => {
      const previous = this.entries.filter((e) => e.retiredAt === undefined);
      const created = await this.createKey();
      const at = this.options.clock.now();
      for (const old of previous) await this.retire(old, at);
      this.options.logger.info({ kid: created.kid, retired: previous.map((e) => e.kid) }, 'signing key rotated');
      return created;
    });
  }

  /**
   * Deletes retired keys no live lease can need: `lastExpiryByKid` gives, per kid, the latest `exp`
   * (seconds) of a lease it signed; a kid without an entry signed nothing still alive. `graceSec`
   * covers the agents' clock skew and leases signed while the caller was computing the map.
   */
  prune(nowSec: number, lastExpiryByKid: ReadonlyMap<string, number>, graceSec = 60): Promise<string[]> {
    return this.serial(async () => {
      const pruned: string[] = [];
      for (const entry of this.entries) {
        if (entry.retiredAt === undefined) continue;
        const neededUntil = Math.max(lastExpiryByKid.get(entry.kid) ?? 0, Math.ceil(entry.retiredAt / 1000)) + graceSec;
        if (nowSec < neededUntil) continue;
        for (const file of [entry.jsonFile, entry.pemFile]) if (file) await rm(file, { force: true });
        pruned.push(entry.kid);
      }
      await this.options.vault?.store.forget(pruned);
      this.entries = this.entries.filter((e) => !pruned.includes(e.kid));
      if (pruned.length > 0) this.options.logger.info({ pruned }, 'retired signing keys removed');
      return pruned;
    });
  }

  private active(): KeyFileEntry | undefined {
    return this.entries.filter((e) => e.retiredAt === undefined).sort(newestFirst)[0];
  }

  private async createKey(): Promise<SigningKeyInfo> {
    const jwk = await generateEd25519PrivateJwk();
    const kid = await ed25519Kid(jwk);
    const createdAt = this.options.clock.now();
    const key = await importEd25519PrivateJwk(jwk);
    const vault = this.options.vault?.store;
    if (vault) await vault.insert(kid, jwk, key.publicJwk, createdAt);
    const jsonFile = vault ? undefined : await writeKeyFile(this.options.dir, jwk, kid, createdAt);
    const entry: KeyFileEntry = { ...key, createdAt, retiredAt: undefined, jsonFile, pemFile: undefined };
    this.entries = [...this.entries, entry];
    this.options.logger.info({ kid, file: jsonFile ?? 'database' }, 'signing key created');
    return { kid, publicJwk: entry.publicJwk, createdAt, retiredAt: undefined };
  }

  /** A PEM key is retired by writing its JSON twin; the JSON metadata wins on the next load. */
  private async retire(entry: KeyFileEntry, at: number): Promise<void> {
    if (this.options.vault) {
      await this.options.vault.store.retire([entry.kid], at);
      this.entries = this.entries.map((e) => (e.kid === entry.kid ? { ...e, retiredAt: at } : e));
      return;
    }
    const jwk = await readPrivateJwk(entry);
    const jsonFile = await writeKeyFile(this.options.dir, jwk, entry.kid, entry.createdAt, at);
    this.entries = this.entries.map((e) => (e.kid === entry.kid ? { ...e, retiredAt: at, jsonFile } : e));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function newestFirst(a: KeyFileEntry, b: KeyFileEntry): number {
  return b.createdAt - a.createdAt;
}
