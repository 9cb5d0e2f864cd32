import { AgentConfigError, HelpShown, loadAgentConfig, type AgentConfig } from './config.js';
import { deriveHardwareId, HardwareIdError } from './hardware/hardware-id.js';
import { systemMachineFacts } from './hardware/machine-facts.js';
import { startLocalApi, type LocalApi } from './http/local-api.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { AgentMetrics } from './local/agent-metrics.js';
import { decisionRoutes } from './local/decision-routes.js';
import { activationRoutes, localAdminToken } from './local/activation-routes.js';
import { BORROW_COMMANDS, runBorrowCommand } from './local/borrow-command.js';
import { borrowRoutes } from './local/borrow-routes.js';
import { licensePageRoutes } from './local/license-page.js';
import { createLogger } from './logger.js';
import { startEnforcement, type Enforcement } from './neuronex/enforcement.js';
import { createAgentRuntime, readBootId, readTrustedCas } from './runtime.js';

/** A hard stop in case the release or a socket hangs; the release itself is capped at 2 s. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig();
  } catch (err) {
    if (err instanceof HelpShown) process.exit(0);
    if (err instanceof AgentConfigError) {
      process.stderr.write(`floatlease-agent: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.log);
  let hardwareId: string;
  try {
    hardwareId = await deriveHardwareId({ override: config.hardwareIdOverride, facts: systemMachineFacts() });
  } catch (err) {
    if (!(err instanceof HardwareIdError)) throw err;
    logger.fatal({ err }, 'no hardware identifier; set FLOATLEASE_HARDWARE_ID');
    logger.flush();
    process.exit(2);
  }

  let ca: readonly string[] | undefined;
  try {
    ca = await readTrustedCas(config.caFile);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot read FLOATLEASE_CA_FILE');
    logger.flush();
    process.exit(2);
  }

  let enforcement: Enforcement | undefined;
  const agent = createAgentRuntime({
    config,
    hardwareId,
    logger,
    usage: { current: () => enforcement?.usage.current() },
    bootId: await readBootId(),
    ...(ca ? { ca } : {}),
  });
  const view = () => agent.status();
  const metrics = new AgentMetrics(view);

  let api: LocalApi | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      logger.flush();
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    void agent
      .stop()
      .then(() => enforcement?.close())
      .then(() => api?.close())
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    const local = await localAdminToken(config.localToken, config.stateDir);
    if (local.file) logger.info({ file: local.file }, 'local admin token for activation on the license page is in this file');
    api = await startLocalApi({
      host: config.http.host,
      port: config.http.port,
      view,
      routers: [
        licensePageRoutes(),
        decisionRoutes(view),
        metricsRoutes(metrics.registry),
        activationRoutes({ localToken: local.token, activate: (code) => agent.activate(code), loadLicenseFile: (file) => agent.loadLicenseFile(file) }),
        borrowRoutes({ localToken: local.token, borrow: (sec) => agent.borrow(sec), returnBorrow: () => agent.returnBorrow() }),
      ],
    });
    if (config.gateway) {
      enforcement = await startEnforcement({
        gateway: config.gateway,
        limits: () => agent.effectiveLimits(),
        onUsage: () => void agent.reportUsage().catch((err: unknown) => logger.warn({ err }, 'could not report usage')),
        onRefusal: (reason) => metrics.refused(reason),
        logger: logger.child({ component: 'enforcement' }),
      });
    }
    await agent.start();
  } catch (err) {
    logger.fatal({ err }, 'agent failed to start');
    logger.flush();
    process.exit(1);
  }
  await agent.ready;
  if (stopping) return;
  const s = agent.status();
  logger.info({ gatewayId: s.gatewayId ?? null, localUrl: api.url, proxyUrl: enforcement?.proxyUrl ?? null, licenseType: s.licenseType, transport: s.transport ?? null, hardwareId }, 'agent ready');
}

// `npm run agent -- borrow --hours 8` / `-- return`: a client of the running agent, not a second agent.
const [command, ...rest] = process.argv.slice(2);
const borrowCommand = BORROW_COMMANDS.find((c) => c === command);
if (borrowCommand) {
  void runBorrowCommand(borrowCommand, rest, process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`floatlease-agent ${borrowCommand}: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  void main();
}
