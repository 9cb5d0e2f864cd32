import { readFile } from 'node:fs/promises';
import { Agent } from './agent.js';
import { AgentConfigError, HelpShown, loadAgentConfig, type AgentConfig } from './config.js';
import { ControllerApi } from './controller/controller-api.js';
import { deriveHardwareId, HardwareIdError } from './hardware/hardware-id.js';
import { systemMachineFacts } from './hardware/machine-facts.js';
import { startLocalApi, type LocalApi } from './http/local-api.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { AgentMetrics } from './local/agent-metrics.js';
import { decisionRoutes } from './local/decision-routes.js';
import { activationRoutes, localAdminToken } from './local/activation-routes.js';
import { licensePageRoutes } from './local/license-page.js';
import { createLogger, type Logger } from './logger.js';
import { startEnforcement, type Enforcement } from './neuronex/enforcement.js';
import { FileStateStore } from './state/file-state-store.js';
import type { AgentTransport, TransportFactory } from './transport/agent-transport.js';
import { MqttTransport } from './transport/mqtt-transport.js';
import { SocketTransport } from './transport/socket-transport.js';

/** A hard stop in case the release or a socket hangs; the release itself is capped at 2 s. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

function transportFactory(config: AgentConfig, logger: Logger): TransportFactory {
  return (identity, handlers) =>
    config.transports.map(
      (name): AgentTransport =>
        name === 'mqtt'
          ? new MqttTransport({ url: config.mqttUrl, identity, keepaliveSec: config.mqttKeepaliveSec, handlers, logger: logger.child({ transport: 'mqtt' }) })
          : new SocketTransport({ controllerUrl: config.controllerUrl, identity, handlers, logger: logger.child({ transport: 'ws' }) }),
    );
}

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

  let enforcement: Enforcement | undefined;
  const agent = new Agent({
    options: {
      activationCode: config.activationCode,
      gatewayName: config.gatewayName,
      hardwareId,
      clockSkewSec: config.clockSkewSec,
      failoverAfterMs: config.failoverAfterMs,
      guardSaveIntervalMs: config.guardSaveSec * 1000,
      // Re-enrollment chooses the pinned keys: automatic only when TLS authenticates the controller.
      reenrollOnUnvouchedKeys: config.controllerUrl.startsWith('https:'),
    },
    store: new FileStateStore({ dir: config.stateDir, logger }),
    controller: new ControllerApi({ baseUrl: config.controllerUrl }),
    transports: transportFactory(config, logger),
    usage: { current: () => enforcement?.usage.current() },
    logger,
    bootId: await readBootId(),
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
      routers: [licensePageRoutes(), decisionRoutes(view), metricsRoutes(metrics.registry), activationRoutes({ localToken: local.token, activate: (code) => agent.activate(code), loadLicenseFile: (file) => agent.loadLicenseFile(file) })],
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

void main();

/** Linux's id of this boot; undefined elsewhere (the time floor then loses every downtime). */
async function readBootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}
