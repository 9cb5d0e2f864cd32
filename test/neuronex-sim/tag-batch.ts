import { NeuronError } from './errors.js';
import {
  DEFAULT_GROUP_INTERVAL,
  GROUP_INTERVAL_MIN,
  GROUP_MAX_PER_NODE,
  type SimNode,
  type TagBatchResult,
} from './neuron-model.js';
import type { NeuronState } from './neuron-state.js';
import { builtInTags, NAME_LEN, toSimTag, validateTag, type TagInput } from './tag-rules.js';

export interface GroupTagsInput {
  group: string;
  interval: number;
  tags: TagInput[];
}

const IMPORT_GROUP = 'builtin';
const IMPORT_GROUP_INTERVAL = 1000;

function fail(error: number): TagBatchResult {
  return { index: 0, error };
}

function southNode(state: NeuronState, name: string): SimNode | number {
  const node = state.node(name);
  if (node === undefined) return NeuronError.NODE_NOT_EXIST;
  if (node.type !== 1) return NeuronError.GROUP_NOT_ALLOW;
  return node;
}

/**
 * The license hook sees the whole validated batch (plugin.h `add_tags`): it refuses all of it or
 * none. 0 when the batch fits.
 */
function licenseRefusal(state: NeuronState, batchSize: number): number {
  if (batchSize === 0) return 0;
  if (state.license.isExpired()) return NeuronError.LICENSE_EXPIRED;
  if (state.tagCount() + batchSize > state.license.maxTags()) return NeuronError.LICENSE_MAX_TAGS;
  return 0;
}

/** Validates every tag; each failing tag gets an entry, the batch is refused if any fails. */
function validateBatch(tags: TagInput[], taken: Set<string>): { index: number; error: number }[] {
  const results: { index: number; error: number }[] = [];
  tags.forEach((tag, index) => {
    const error = validateTag(tag, taken);
    if (error === 0) taken.add(tag.name);
    else results.push({ index, error });
  });
  return results;
}

function commit(node: SimNode, groupName: string, interval: number, tags: TagInput[]): void {
  let group = node.groups.get(groupName);
  if (group === undefined) {
    group = { name: groupName, interval, tags: new Map() };
    node.groups.set(groupName, group);
  }
  for (const tag of tags) group.tags.set(tag.name, toSimTag(tag));
}

function addToOneGroup(node: SimNode, state: NeuronState, groupName: string, interval: number, tags: TagInput[]): TagBatchResult {
  if (groupName.length >= NAME_LEN) return fail(NeuronError.GROUP_NAME_TOO_LONG);
  const group = node.groups.get(groupName);
  if (group === undefined && node.groups.size >= GROUP_MAX_PER_NODE) return fail(NeuronError.GROUP_MAX_GROUPS);
  const results = validateBatch(tags, new Set(group?.tags.keys() ?? []));
  const last = results.at(-1);
  if (last !== undefined) return { index: last.index, error: last.error, results };
  const refusal = licenseRefusal(state, tags.length);
  if (refusal !== 0) return { index: 0, error: refusal, results: [{ index: 0, error: refusal }] };
  commit(node, groupName, interval, tags);
  return { index: 0, error: 0 };
}

/** `POST /tags`: all or nothing; a missing group is created with the default interval. */
export function addTagBatch(state: NeuronState, nodeName: string, groupName: string, tags: TagInput[]): TagBatchResult {
  const node = southNode(state, nodeName);
  if (typeof node === 'number') return fail(node);
  return addToOneGroup(node, state, groupName, DEFAULT_GROUP_INTERVAL, tags);
}

/** `POST /gtags`: several groups, all or nothing, one license check over every tag. */
export function addGroupTagBatch(state: NeuronState, nodeName: string, groups: GroupTagsInput[]): TagBatchResult {
  const node = southNode(state, nodeName);
  if (typeof node === 'number') return fail(node);
  const taken = new Map<string, Set<string>>();
  for (const g of groups) {
    if (g.group.length >= NAME_LEN) return fail(NeuronError.GROUP_NAME_TOO_LONG);
    if (g.interval < GROUP_INTERVAL_MIN) return fail(NeuronError.GROUP_PARAMETER_INVALID);
    if (!taken.has(g.group)) taken.set(g.group, new Set(node.groups.get(g.group)?.tags.keys() ?? []));
  }
  const newGroups = [...taken.keys()].filter((name) => !node.groups.has(name)).length;
  if (node.groups.size + newGroups > GROUP_MAX_PER_NODE) return fail(NeuronError.GROUP_MAX_GROUPS);
  let total = 0;
  for (const g of groups) {
    const first = validateBatch(g.tags, taken.get(g.group) ?? new Set())[0];
    if (first !== undefined) return fail(first.error);
    total += g.tags.length;
  }
  const refusal = licenseRefusal(state, total);
  if (refusal !== 0) return fail(refusal);
  for (const g of groups) commit(node, g.group, g.interval, g.tags);
  return { index: total, error: 0 };
}

/** `POST /tags/import`: adds the plugin's built-in tags to group "builtin", like a `/tags` batch. */
export function importTagBatch(state: NeuronState, nodeName: string): TagBatchResult {
  const node = state.node(nodeName);
  if (node === undefined) return fail(NeuronError.NODE_NOT_EXIST);
  const plugin = state.plugin(node.plugin);
  if (plugin === undefined || node.type !== 1 || plugin.importTags === 0) return fail(NeuronError.PLUGIN_NOT_SUPPORT_IMPORT);
  const tags = builtInTags(plugin.schema, plugin.importTags);
  const interval = node.groups.get(IMPORT_GROUP)?.interval ?? IMPORT_GROUP_INTERVAL;
  const result = addToOneGroup(node, state, IMPORT_GROUP, interval, tags);
  return result.error === 0 ? { index: tags.length, error: 0 } : result;
}

/** `PUT /tags`: tags are updated one by one until the first failure (adapter.c). */
export function updateTagList(
  state: NeuronState,
  nodeName: string,
  groupName: string,
  tags: TagInput[],
): { index: number; error: number } {
  const found = state.southGroup(nodeName, groupName);
  if (typeof found === 'number') return fail(found);
  let index = 0;
  for (const tag of tags) {
    const error = validateTag(tag, new Set());
    if (error !== 0) return { index, error };
    if (!found.group.tags.has(tag.name)) return { index, error: NeuronError.TAG_NOT_EXIST };
    found.group.tags.set(tag.name, toSimTag(tag));
    index += 1;
  }
  return { index, error: 0 };
}

/** `DELETE /tags`: deletes one by one until a name is missing; deleted tags free their count. */
export function deleteTagList(state: NeuronState, nodeName: string, groupName: string, names: string[]): number {
  const found = state.southGroup(nodeName, groupName);
  if (typeof found === 'number') return found;
  for (const name of names) {
    if (!found.group.tags.delete(name)) return NeuronError.TAG_NOT_EXIST;
  }
  return 0;
}
