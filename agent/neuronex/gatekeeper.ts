import type { Limits } from '../../shared/protocol/limits.js';

/** Neuron's own error answers (neuronex.md §3–§5): code, HTTP status and body. */
export const refusals = {
  pluginNotLicensed: { code: 2403, status: 200, body: { error: 2403 } },
  tooManyNodes: { code: 2404, status: 200, body: { error: 2404 } },
  tooManyTags: { code: 2405, status: 400, body: { index: 0, error: 2405, results: [{ index: 0, error: 2405 }] } },
} as const;
export type Refusal = (typeof refusals)[keyof typeof refusals];
export type RefusalReason = keyof typeof refusals;

export interface Usage {
  tags: number;
  connections: number;
}

export type Decision = { allow: true } | { allow: false; reason: RefusalReason; refusal: Refusal };

const deny = (reason: RefusalReason): Decision => ({ allow: false, reason, refusal: refusals[reason] });

/** A new node (south or north) takes one connection; a commercial plugin must be enabled. */
export function decideNode(limits: Limits, usage: Usage, plugin: string, freePlugins: readonly string[]): Decision {
  if (!freePlugins.includes(plugin) && !limits.plugins.includes(plugin)) return deny('pluginNotLicensed');
  if (usage.connections + 1 > limits.connections) return deny('tooManyNodes');
  return { allow: true };
}

/** A tag batch is all or nothing: the whole batch must fit. */
export function decideTags(limits: Limits, usage: Usage, added: number): Decision {
  return usage.tags + added > limits.tags ? deny('tooManyTags') : { allow: true };
}

/** How many tags a `/tags` or `/gtags` body adds; undefined when the gateway itself should reject the shape. */
export function tagsInBatch(path: 'tags' | 'gtags', body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  if (path === 'tags') {
    const tags = (body as { tags?: unknown }).tags;
    return Array.isArray(tags) ? tags.length : undefined;
  }
  const groups = (body as { groups?: unknown }).groups;
  if (!Array.isArray(groups)) return undefined;
  let n = 0;
  for (const g of groups) {
    const tags = (g as { tags?: unknown } | null)?.tags;
    if (!Array.isArray(tags)) return undefined;
    n += tags.length;
  }
  return n;
}
