import type { Limits } from '../../shared/protocol/limits.js';
import { decideWhileOver, deny, type Decision } from './gatekeeper.js';
import type { NeuronClient } from './neuron-client.js';
import { pluginEnabled, type PluginPolicy } from './plugin-policy.js';

/** node → group → tag names, as they were before a measured change. */
export type Snapshot = Map<string, { plugin: string; groups: Map<string, Set<string>> }>;

/**
 * Creations whose size is unknown beforehand (tag imports, CID/TPY/EDE files, template instances):
 * the gatekeeper records what exists, lets the gateway do it, reads usage again, and undoes the
 * change when it went over the limits or created a node of a plugin the limits do not enable.
 */
export async function snapshot(neuron: NeuronClient, only?: string): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const n of await neuron.nodes()) {
    // Only south nodes hold groups and tags.
    if (!n.south || (only !== undefined && n.name !== only)) {
      out.set(n.name, { plugin: n.plugin, groups: new Map() });
      continue;
    }
    const groups = new Map<string, Set<string>>();
    for (const g of await neuron.groupsOf(n.name)) groups.set(g.name, new Set(await neuron.tagNames(n.name, g.name)));
    out.set(n.name, { plugin: n.plugin, groups });
  }
  return out;
}

/** Judges the state after the change; `allow: false` means it must be undone. */
export async function judgeAfter(neuron: NeuronClient, limits: Limits, before: Snapshot, policy: PluginPolicy): Promise<Decision> {
  for (const n of await neuron.nodes()) if (!before.has(n.name) && !pluginEnabled(limits, n.plugin, policy)) return deny('pluginNotLicensed');
  return decideWhileOver(limits, await neuron.usage());
}

/** Deletes the nodes the change created, and the tags it added to groups that existed. */
export async function undo(neuron: NeuronClient, before: Snapshot, only?: string): Promise<void> {
  for (const n of await neuron.nodes()) {
    const had = before.get(n.name);
    if (!had) {
      await neuron.deleteNode(n.name);
      continue;
    }
    if (!n.south || (only !== undefined && n.name !== only)) continue;
    for (const g of await neuron.groupsOf(n.name)) {
      const tags = had.groups.get(g.name) ?? new Set<string>();
      const added = (await neuron.tagNames(n.name, g.name)).filter((t) => !tags.has(t));
      if (added.length) await neuron.deleteTags(n.name, g.name, added);
    }
  }
}
