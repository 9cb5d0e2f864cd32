import type { Limits } from '../../shared/protocol/limits.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { UsageSource } from '../usage/usage-source.js';
import { startGatekeeperProxy, type GatekeeperProxy } from './gatekeeper-proxy.js';
import type { RefusalReason } from './gatekeeper.js';
import { NeuronClient } from './neuron-client.js';
import { DEFAULT_FREE_PLUGINS, DEFAULT_TRIAL_EXCLUDED_PLUGINS } from './plugin-policy.js';
import { UsageWatcher } from './usage-watcher.js';

export interface Enforcement {
  readonly usage: UsageSource;
  readonly proxyUrl: string;
  close(): Promise<void>;
}

/** The usage client for the configured gateway: Neuron core (/api/v2) or NeuronEX (/api/neuron on 8085). */
export function neuronClientFor(gateway: Pick<NonNullable<AgentConfig['gateway']>, 'url' | 'apiPrefix' | 'username' | 'password'>): NeuronClient {
  // NeuronEX serves Neuron's API under /api/neuron (neuronex.yaml) next to its own /api routes.
  const neuronex = gateway.apiPrefix.replace(/\/+$/, '') === '/api/neuron';
  return new NeuronClient({
    apiBase: gateway.url + gateway.apiPrefix,
    username: gateway.username,
    password: gateway.password,
    ...(neuronex ? { neuronex: { loginUrl: `${gateway.url}/api/login` } } : {}),
  });
}

/**
 * NeuronEX enforcement around one gateway: the usage watcher (usage source of the agent, and the
 * stop-excess policy) and the gatekeeping proxy that agents' limits apply to.
 */
export async function startEnforcement(opts: {
  gateway: NonNullable<AgentConfig['gateway']>;
  limits: () => Limits;
  onUsage: () => void;
  onRefusal: (reason: RefusalReason) => void;
  logger: Logger;
}): Promise<Enforcement> {
  const { gateway, logger } = opts;
  const neuron = neuronClientFor(gateway);
  const watcher = new UsageWatcher({
    neuron,
    limits: opts.limits,
    policy: gateway.policy,
    intervalMs: gateway.usageIntervalMs,
    onUsage: () => opts.onUsage(),
    onNodeControl: (node, action) => logger.warn({ node, action, policy: gateway.policy }, `south node ${action} to keep within the license`),
    onError: (err) => logger.warn({ err }, 'usage check on the gateway failed'),
  });
  let proxy: GatekeeperProxy | undefined;
  try {
    proxy = await startGatekeeperProxy({
      target: gateway.url,
      host: gateway.proxy.host,
      port: gateway.proxy.port,
      limits: opts.limits,
      neuron,
      plugins: { free: gateway.freePlugins ?? DEFAULT_FREE_PLUGINS, trialExcluded: gateway.trialExcludedPlugins ?? DEFAULT_TRIAL_EXCLUDED_PLUGINS },
      extraRoutes: gateway.extraRoutes,
      onRefusal: (reason) => {
        opts.onRefusal(reason);
        // A refusal means usage is at the limit: read it now rather than at the next interval.
        void watcher.tick();
      },
      onError: (err) => logger.warn({ err }, 'gatekeeping proxy error'),
    });
  } catch (err) {
    watcher.stop();
    throw err;
  }
  watcher.start();
  const running = proxy;
  logger.info({ gateway: gateway.url, proxy: running.url, policy: gateway.policy }, 'enforcing the license on the gateway');
  return {
    usage: { current: () => watcher.last() },
    proxyUrl: running.url,
    async close() {
      watcher.stop();
      await running.close();
    },
  };
}
