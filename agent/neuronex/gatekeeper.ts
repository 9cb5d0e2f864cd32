import type { Limits } from '../../shared/protocol/limits.js';
import { pluginEnabled, type PluginPolicy } from './plugin-policy.js';

/** Neuron's own error answers (neuronex.md §3–§5): code, HTTP status and body. */
const refusals = {
  pluginNotLicensed: { code: 2403, status: 200, body: { error: 2403 } },
  tooManyNodes: { code: 2404, status: 200, body: { error: 2404 } },
  tooManyTags: { code: 2405, status: 400, body: { index: 0, error: 2405, results: [{ index: 0, error: 2405 }] } },
  /** `/gtags` answers `{index, error}` without `results` (handle.c addendum in neuronex.md). */
  tooManyGroupTags: { code: 2405, status: 400, body: { index: 0, error: 2405 } },
  /** NEU_ERR_LIBRARY_NOT_FOUND: the gateway has no such plugin. */
  pluginNotFound: { code: 2301, status: 404, body: { error: 2301 } },
  /** NEU_ERR_BODY_IS_WRONG: what Neuron answers when it cannot parse a body as JSON. */
  bodyUnreadable: { code: 1002, status: 400, body: { error: 1002 } },
  /** Not a Neuron code: a route the gatekeeper cannot judge is denied, and says how to allow it. */
  unknownRoute: {
    code: 403,
    status: 403,
    body: { error: 403, message: 'floatlease gatekeeper: this route changes the gateway and is not in its route table; allow it with FLOATLEASE_PROXY_ALLOW_ROUTES' },
  },
} as const;
type Refusal = (typeof refusals)[keyof typeof refusals];
export type RefusalReason = keyof typeof refusals;

export interface Usage {
  tags: number;
  connections: number;
}

export type Decision = { allow: true } | { allow: false; reason: RefusalReason; refusal: Refusal };

export const deny = (reason: RefusalReason): Decision => ({ allow: false, reason, refusal: refusals[reason] });
const allow: Decision = { allow: true };

/** What a creating request adds: new nodes (by plugin) and new tags. */
export interface Addition {
  readonly plugins: readonly string[];
  readonly tags: number;
}

/**
 * The one rule for creations: every plugin must exist on the gateway (else Neuron's 2301) and be
 * enabled; the new nodes and the whole tag batch must fit (all or nothing).
 */
export function decideAddition(limits: Limits, usage: Usage, add: Addition, policy: PluginPolicy, knownPlugins: readonly string[]): Decision {
  for (const p of add.plugins) if (!knownPlugins.includes(p)) return deny('pluginNotFound');
  for (const p of add.plugins) if (!pluginEnabled(limits, p, policy)) return deny('pluginNotLicensed');
  if (add.plugins.length > 0 && usage.connections + add.plugins.length > limits.connections) return deny('tooManyNodes');
  if (add.tags > 0 && usage.tags + add.tags > limits.tags) return deny('tooManyTags');
  return allow;
}

/** Creations that add no points (groups, starting nodes) are refused only while usage is over the limits. */
export function decideWhileOver(limits: Limits, usage: Usage): Decision {
  if (usage.connections > limits.connections) return deny('tooManyNodes');
  if (usage.tags > limits.tags) return deny('tooManyTags');
  return allow;
}

type Body = Record<string, unknown>;
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const arrayOf = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

/** `POST /tags` / `POST /gtags`: the number of tags; undefined when the body's shape is not Neuron's. */
export function tagsInBatch(path: 'tags' | 'gtags', body: unknown): number | undefined {
  if (!isObject(body)) return undefined;
  if (path === 'tags') return arrayOf(body.tags)?.length;
  const groups = arrayOf(body.groups);
  if (!groups) return undefined;
  let n = 0;
  for (const g of groups) {
    const tags = isObject(g) ? arrayOf(g.tags) : undefined;
    if (!tags) return undefined;
    n += tags.length;
  }
  return n;
}

/**
 * `PUT /global/config|drivers|apps`: nodes (with their plugins) and tags of the body, counted as
 * additions (the conservative reading: a restore onto a busy gateway must fit next to what exists).
 * Tags may sit in `tags[].tags` (global/config) or in `nodes[].groups[].tags` (global/drivers).
 * Undefined when the shape is unreadable.
 */
export function additionsInBulk(body: unknown): Addition | undefined {
  if (!isObject(body)) return undefined;
  const nodes = body.nodes === undefined ? [] : arrayOf(body.nodes);
  if (!nodes) return undefined;
  const plugins: string[] = [];
  let tags = 0;
  for (const n of nodes) {
    if (!isObject(n) || typeof n.plugin !== 'string') return undefined;
    plugins.push(n.plugin);
    const groups = n.groups === undefined ? [] : arrayOf(n.groups);
    if (!groups) return undefined;
    for (const g of groups) {
      const t = isObject(g) ? (g.tags === undefined ? [] : arrayOf(g.tags)) : undefined;
      if (!t) return undefined;
      tags += t.length;
    }
  }
  const tagSets = body.tags === undefined ? [] : arrayOf(body.tags);
  if (!tagSets) return undefined;
  for (const s of tagSets) {
    const t = isObject(s) ? arrayOf(s.tags) : undefined;
    if (!t) return undefined;
    tags += t.length;
  }
  return { plugins, tags };
}
