// define.h limits.
export const GROUP_MAX_PER_NODE = 512;
export const GROUP_INTERVAL_MIN = 100;
export const DEFAULT_GROUP_INTERVAL = 100;

/** 1 = south (driver), 2 = north (app). */
export type NodeType = 1 | 2;

/** Neuron's running states: init, ready, running, stopped. */
export const RunningState = { INIT: 1, READY: 2, RUNNING: 3, STOPPED: 4 } as const;
export type RunningState = (typeof RunningState)[keyof typeof RunningState];

export interface SimTag {
  name: string;
  address: string;
  attribute: number;
  type: number;
  precision: number;
  decimal: number;
  bias: number;
  description: string;
  unit: string;
  value?: unknown;
}

export interface SimGroup {
  name: string;
  interval: number;
  tags: Map<string, SimTag>;
}

export interface SimNode {
  name: string;
  plugin: string;
  type: NodeType;
  running: RunningState;
  /** Creation order; renames keep it. */
  seq: number;
  /** The free-text `tags` label string of `POST /node`. */
  labels: string;
  params: Record<string, unknown> | undefined;
  groups: Map<string, SimGroup>;
}

/** Response of the tag batch routes (`POST /tags`, `/gtags`, `/tags/import`). */
export interface TagBatchResult {
  index: number;
  error: number;
  results?: { index: number; error: number }[];
}

export function linkState(node: SimNode): 0 | 1 {
  return node.running === RunningState.RUNNING ? 1 : 0;
}

/** Replaces a map key while keeping the entry's position. */
export function renameKey<V>(map: Map<string, V>, from: string, to: string, value: V): void {
  const entries = [...map.entries()].map(([k, v]): [string, V] => (k === from ? [to, value] : [k, v]));
  map.clear();
  for (const [k, v] of entries) map.set(k, v);
}
