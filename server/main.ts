import { ConfigError, loadConfig, type Config } from './config.js';
import { startController } from './composition-root.js';
import { guardDriverTypeFetch } from './db/driver-type-fetch-guard.js';
import { migrateDatabase } from './db/migrate.js';
import { createLogger, type Logger } from './logger.js';

const USAGE = 'usage: floatlease-controller [serve|migrate]\n' +
  '  serve    start the controller (the default)\n' +
  '  migrate  apply pending database migrations to DATABASE_URL and exit (a Kubernetes Job or Helm hook)\n';

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if ((command !== 'serve' && command !== 'migrate') || argv.length > 1) {
    process.stderr.write(`floatlease: unknown command ${JSON.stringify(argv.join(' '))}\n${USAGE}`);
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`floatlease: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.log);
  guardDriverTypeFetch(logger);
  if (command === 'migrate') await migrate(config, logger);
  else await serve(config, logger);
}

/** Applies migrations (under the same advisory lock the controller takes at start) and exits. */
async function migrate(config: Config, logger: Logger): Promise<void> {
  if (!config.database.url) {
    process.stderr.write('floatlease: migrate needs DATABASE_URL (the embedded PostgreSQL is migrated by the controller itself)\n');
    process.exit(2);
  }
  const started = Date.now();
  try {
    await migrateDatabase(config.database.url);
  } catch (err) {
    logger.fatal({ err }, 'migration failed');
    logger.flush();
    process.exit(1);
  }
  logger.info({ ms: Date.now() - started }, 'database migrated');
  logger.flush();
  process.exit(0);
}

async function serve(config: Config, logger: Logger): Promise<void> {
  let controller: Awaited<ReturnType<typeof startController>> | undefined;
  let stopping = false;
  const stop = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    hardStop.unref();
    void (controller?.close() ?? Promise.resolve()).then(() => {
      logger.info('stopped');
      logger.flush?.();
      process.exit(exitCode);
    });
  };
  // SIGHUP too (a closed terminal): stopping in order beats leaving the embedded PostgreSQL behind.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  try {
    controller = await startController(config, logger, (err) => {
      // A supervisor (systemd, Kubernetes) restarts the whole controller.
      logger.fatal({ err }, 'unrecoverable failure; stopping');
      stop('fatal', 1);
    });
    if (stopping) await controller.close();
  } catch (err) {
    logger.fatal({ err }, 'controller failed to start');
    logger.flush();
    process.exit(1);
  }
}

void main(process.argv.slice(2));
