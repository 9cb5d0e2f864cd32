import { ConfigError, loadConfig } from './config.js';
import { startController } from './composition-root.js';
import { guardDriverTypeFetch } from './db/driver-type-fetch-guard.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
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

void main();
