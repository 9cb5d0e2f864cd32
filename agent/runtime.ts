import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { Agent } from './agent.js';
import type { AgentConfig } from './config.js';
import { ControllerApi } from './controller/controller-api.js';
import type { Logger } from './logger.js';
import { FileStateStore } from './state/file-state-store.js';
import type { AgentTransport, TransportFactory } from './transport/agent-transport.js';
import { MqttTransport } from './transport/mqtt-transport.js';
import { SocketTransport } from './transport/socket-transport.js';
import type { UsageSource } from './usage/usage-source.js';

export interface AgentRuntimeOptions {
  readonly config: AgentConfig;
  readonly hardwareId: string;
  readonly logger: Logger;
  readonly usage?: UsageSource;
  /** This boot's id (readBootId); without it the time floor loses every downtime. */
  readonly bootId?: string;
  /** The CAs to trust (readTrustedCas); undefined keeps the defaults. */
  readonly ca?: readonly string[];
}

/**
 * The agent as `npm run agent` runs it, without its local API and NeuronEX enforcement: the state
 * folder, the controller's HTTP API and the transports of the configuration. main.ts builds its
 * agent here; the fleet tests build many (one per state folder) in one process the same way.
 */
export function createAgentRuntime(o: AgentRuntimeOptions): Agent {
  const { config, logger, ca } = o;
  return new Agent({
    options: {
      activationCode: config.activationCode,
      gatewayName: config.gatewayName,
      hardwareId: o.hardwareId,
      clockSkewSec: config.clockSkewSec,
      failoverAfterMs: config.failoverAfterMs,
      guardSaveIntervalMs: config.guardSaveSec * 1000,
      // Re-enrollment chooses the pinned keys: automatic only when TLS authenticates the controller.
      reenrollOnUnvouchedKeys: config.controllerUrl.startsWith('https:'),
    },
    store: new FileStateStore({ dir: config.stateDir, logger }),
    controller: new ControllerApi({ baseUrl: config.controllerUrl, ...(ca ? { ca } : {}) }),
    transports: transportFactory(config, logger, ca),
    ...(o.usage ? { usage: o.usage } : {}),
    logger,
    ...(o.bootId ? { bootId: o.bootId } : {}),
  });
}

function transportFactory(config: AgentConfig, logger: Logger, ca?: readonly string[]): TransportFactory {
  const tlsCa = ca ? { ca } : {};
  return (identity, handlers) =>
    config.transports.map(
      (name): AgentTransport =>
        name === 'mqtt'
          ? new MqttTransport({ url: config.mqttUrl, identity, keepaliveSec: config.mqttKeepaliveSec, handlers, logger: logger.child({ transport: 'mqtt' }), ...tlsCa })
          : new SocketTransport({ controllerUrl: config.controllerUrl, identity, handlers, logger: logger.child({ transport: 'ws' }), ...tlsCa }),
    );
}

/**
 * FLOATLEASE_CA_FILE's certificates plus the system's: Node replaces its CA list with the one it is
 * given, so a private CA alone would stop a public one from working (e.g. a broker with a public certificate).
 */
export async function readTrustedCas(caFile: string | undefined): Promise<readonly string[] | undefined> {
  if (caFile === undefined) return undefined;
  const pem = await readFile(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${caFile} holds no PEM certificate`);
  return [...tls.rootCertificates, pem];
}

/** Linux's id of this boot; undefined elsewhere (the time floor then loses every downtime). */
export async function readBootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}
