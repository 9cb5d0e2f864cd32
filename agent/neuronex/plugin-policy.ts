import type { Limits } from '../../shared/protocol/limits.js';
import { ALL_PLUGINS } from '../../shared/protocol/limits.js';

/** NeuronEX's open-source plugins need no license; every other plugin must be enabled. */
export const DEFAULT_FREE_PLUGINS = ['Modbus TCP', 'Modbus RTU', 'File', 'MQTT', 'eKuiper', 'WebSocket', 'Monitor'] as const;

/**
 * Plugins NeuronEX keeps out of its free allowance: the CNC drivers (NeuronEX license-policy
 * documentation). Patterns, `*` = any text, case ignored.
 */
export const DEFAULT_TRIAL_EXCLUDED_PLUGINS = ['*CNC*', '*FOCAS*', '*SINUMERIK*'] as const;

export interface PluginPolicy {
  readonly free: readonly string[];
  /** Applies where the limits enable every plugin (the trial allowance). */
  readonly trialExcluded: readonly string[];
}

export const DEFAULT_PLUGIN_POLICY: PluginPolicy = { free: DEFAULT_FREE_PLUGINS, trialExcluded: DEFAULT_TRIAL_EXCLUDED_PLUGINS };

function matches(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(name);
}

/** The one rule for whether limits let a node of `plugin` run. */
export function pluginEnabled(limits: Limits, plugin: string, policy: PluginPolicy = DEFAULT_PLUGIN_POLICY): boolean {
  if (policy.free.includes(plugin) || limits.plugins.includes(plugin)) return true;
  return limits.plugins.includes(ALL_PLUGINS) && !policy.trialExcluded.some((p) => matches(p, plugin));
}
