import { NeuronError } from './errors.js';
import type { LicenseState } from './license-state.js';
import {
  GROUP_INTERVAL_MIN,
  GROUP_MAX_PER_NODE,
  RunningState,
  renameKey,
  type NodeType,
  type SimGroup,
  type SimNode,
  type TagBatchResult,
} from './neuron-model.js';
import type { PluginInfo } from './plugins.js';
import { addGroupTagBatch, addTagBatch, deleteTagList, importTagBatch, updateTagList, type GroupTagsInput } from './tag-batch.js';
import { NAME_LEN, type TagInput } from './tag-rules.js';

const RESERVED_NODE_NAMES: readonly string[] = ['monitor', 'DataStorage'];

export interface AddNodeInput {
  name: string;
  plugin: string;
  params?: Record<string, unknown> | undefined;
  labels?: string | undefined;
}

/**
 * The gateway's configuration in memory. Every mutation is synchronous, so a check and the change
 * it guards happen in one turn of the event loop: concurrent HTTP requests cannot interleave.
 */
export class NeuronState {
  readonly startedAt: Date;
  private readonly nodes = new Map<string, SimNode>();
  private readonly plugins: ReadonlyMap<string, PluginInfo>;
  private nextSeq = 1;

  constructor(
    readonly license: LicenseState,
    plugins: readonly PluginInfo[],
  ) {
    this.startedAt = license.now();
    this.plugins = new Map(plugins.map((p) => [p.name, p]));
  }

  plugin(name: string): PluginInfo | undefined {
    return this.plugins.get(name);
  }

  pluginList(): PluginInfo[] {
    return [...this.plugins.values()];
  }

  node(name: string): SimNode | undefined {
    return this.nodes.get(name);
  }

  /** Nodes in creation order, optionally of one type. */
  listNodes(type?: NodeType): SimNode[] {
    return [...this.nodes.values()].filter((n) => type === undefined || n.type === type).sort((a, b) => a.seq - b.seq);
  }

  /** Connections in use: south and north nodes together, as Neuron counts `used_nodes`. */
  nodeCount(): number {
    return this.nodes.size;
  }

  southNodeCount(): number {
    return this.listNodes(1).length;
  }

  northNodeCount(): number {
    return this.listNodes(2).length;
  }

  /** Tags in use: every tag of every group of every south node. */
  tagCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += nodeTagCount(node);
    return n;
  }

  groupCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += node.groups.size;
    return n;
  }

  addNode(input: AddNodeInput): number {
    const nameError = checkNodeName(input.name);
    if (nameError !== 0) return nameError;
    if (RESERVED_NODE_NAMES.includes(input.name)) return NeuronError.NODE_EXIST;
    const plugin = this.plugins.get(input.plugin);
    if (plugin === undefined) return NeuronError.LIBRARY_NOT_FOUND;
    if (this.nodes.has(input.name)) return NeuronError.NODE_EXIST;
    if (this.license.isExpired()) return NeuronError.LICENSE_EXPIRED;
    if (!this.license.pluginEnabled(plugin)) return NeuronError.LICENSE_DISABLED;
    if (this.nodes.size >= this.license.maxNodes()) return NeuronError.LICENSE_MAX_NODES;
    this.nodes.set(input.name, {
      name: input.name,
      plugin: plugin.name,
      type: plugin.nodeType,
      // A node created with its settings starts at once; without, it waits in INIT.
      running: input.params === undefined ? RunningState.INIT : RunningState.RUNNING,
      seq: this.nextSeq++,
      labels: input.labels ?? '',
      params: input.params,
      groups: new Map(),
    });
    return 0;
  }

  renameNode(name: string, newName: string): number {
    if (name.length >= NAME_LEN || newName.length >= NAME_LEN) return NeuronError.NODE_NAME_TOO_LONG;
    if (newName.length === 0) return NeuronError.NODE_NAME_EMPTY;
    if (RESERVED_NODE_NAMES.includes(name) || RESERVED_NODE_NAMES.includes(newName)) return NeuronError.NODE_NOT_ALLOW_UPDATE;
    const node = this.nodes.get(name);
    if (node === undefined) return NeuronError.NODE_NOT_EXIST;
    if (name === newName) return 0;
    if (this.nodes.has(newName)) return NeuronError.NODE_EXIST;
    node.name = newName;
    renameKey(this.nodes, name, newName, node);
    return 0;
  }

  deleteNode(name: string): number {
    if (name.length >= NAME_LEN) return NeuronError.NODE_NAME_TOO_LONG;
    return this.nodes.delete(name) ? 0 : NeuronError.NODE_NOT_EXIST;
  }

  /** `POST /node/ctl`: cmd 0 starts, 1 stops (adapter.c state rules). */
  controlNode(name: string, cmd: number): number {
    const node = this.nodes.get(name);
    if (node === undefined) return NeuronError.NODE_NOT_EXIST;
    if (cmd === 0) {
      if (node.running === RunningState.INIT) return NeuronError.NODE_NOT_READY;
      if (node.running === RunningState.RUNNING) return NeuronError.NODE_IS_RUNNING;
      node.running = RunningState.RUNNING;
      return 0;
    }
    if (cmd === 1) {
      if (node.running === RunningState.INIT || node.running === RunningState.READY) return NeuronError.NODE_NOT_RUNNING;
      if (node.running === RunningState.STOPPED) return NeuronError.NODE_IS_STOPPED;
      node.running = RunningState.STOPPED;
      return 0;
    }
    return NeuronError.PARAM_IS_WRONG;
  }

  /** `POST /node/setting`: the first setting moves a node from INIT to ready and starts it. */
  setNodeSetting(name: string, params: Record<string, unknown>): number {
    const node = this.nodes.get(name);
    if (node === undefined) return NeuronError.NODE_NOT_EXIST;
    node.params = params;
    if (node.running === RunningState.INIT) node.running = RunningState.RUNNING;
    return 0;
  }

  addGroup(nodeName: string, groupName: string, interval: number): number {
    const node = this.nodes.get(nodeName);
    if (node === undefined) return NeuronError.NODE_NOT_EXIST;
    if (node.type !== 1) return NeuronError.GROUP_NOT_ALLOW;
    if (groupName.length >= NAME_LEN) return NeuronError.GROUP_NAME_TOO_LONG;
    if (interval < GROUP_INTERVAL_MIN) return NeuronError.GROUP_PARAMETER_INVALID;
    if (node.groups.has(groupName)) return NeuronError.GROUP_EXIST;
    if (node.groups.size >= GROUP_MAX_PER_NODE) return NeuronError.GROUP_MAX_GROUPS;
    node.groups.set(groupName, { name: groupName, interval, tags: new Map() });
    return 0;
  }

  updateGroup(nodeName: string, groupName: string, change: { newName?: string | undefined; interval?: number | undefined }): number {
    const found = this.southGroup(nodeName, groupName);
    if (typeof found === 'number') return found;
    const { node, group } = found;
    const newName = change.newName;
    if (newName !== undefined && newName.length >= NAME_LEN) return NeuronError.GROUP_NAME_TOO_LONG;
    if (newName !== undefined && newName !== groupName && node.groups.has(newName)) return NeuronError.GROUP_EXIST;
    if (change.interval !== undefined && change.interval < GROUP_INTERVAL_MIN) return NeuronError.GROUP_PARAMETER_INVALID;
    if (change.interval !== undefined) group.interval = change.interval;
    if (newName !== undefined && newName !== '' && newName !== groupName) {
      group.name = newName;
      renameKey(node.groups, groupName, newName, group);
    }
    return 0;
  }

  /** Deleting a group releases all its tags. */
  deleteGroup(nodeName: string, groupName: string): number {
    const found = this.southGroup(nodeName, groupName);
    if (typeof found === 'number') return found;
    found.node.groups.delete(groupName);
    return 0;
  }

  /** A south node's group, or the error code for why there is none. */
  southGroup(nodeName: string, groupName: string): { node: SimNode; group: SimGroup } | number {
    const node = this.nodes.get(nodeName);
    if (node === undefined) return NeuronError.NODE_NOT_EXIST;
    if (node.type !== 1) return NeuronError.GROUP_NOT_ALLOW;
    const group = node.groups.get(groupName);
    if (group === undefined) return NeuronError.GROUP_NOT_EXIST;
    return { node, group };
  }

  addTags(nodeName: string, groupName: string, tags: TagInput[]): TagBatchResult {
    return addTagBatch(this, nodeName, groupName, tags);
  }

  addGroupTags(nodeName: string, groups: GroupTagsInput[]): TagBatchResult {
    return addGroupTagBatch(this, nodeName, groups);
  }

  importTags(nodeName: string): TagBatchResult {
    return importTagBatch(this, nodeName);
  }

  updateTags(nodeName: string, groupName: string, tags: TagInput[]): { index: number; error: number } {
    return updateTagList(this, nodeName, groupName, tags);
  }

  deleteTags(nodeName: string, groupName: string, names: string[]): number {
    return deleteTagList(this, nodeName, groupName, names);
  }
}

export function nodeTagCount(node: SimNode): number {
  let n = 0;
  for (const g of node.groups.values()) n += g.tags.size;
  return n;
}

function checkNodeName(name: string): number {
  if (name.length === 0) return NeuronError.NODE_NAME_EMPTY;
  if (name.length >= NAME_LEN) return NeuronError.NODE_NAME_TOO_LONG;
  return 0;
}
