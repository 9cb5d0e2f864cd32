/** What the bench parent and its fleet workers say to each other over the IPC channel. */

export interface AgentSpec {
  /** Index in the parent's fleet; every event names its agent by this. */
  readonly i: number;
  readonly gatewayId: string;
  readonly credential: string;
  readonly hardwareId: string;
}

export interface FleetWorkerConfig {
  readonly transport: 'mqtt' | 'ws';
  /** Broker URL for MQTT agents. */
  readonly mqttUrl: string;
  /** Controller base URL for WebSocket agents. */
  readonly httpUrl: string;
  readonly jwks: unknown;
  readonly issuer: string;
  readonly audience: string;
  readonly connectConcurrency: number;
  /** MQTT keepalive in seconds; the broker fires the last will after 1.5 × this without traffic. */
  readonly keepaliveSec: number;
  readonly agents: readonly AgentSpec[];
}

export type ParentToWorker =
  | { readonly type: 'start'; readonly config: FleetWorkerConfig }
  /** Stop (or resume) acknowledging leases: the older, larger lease keeps counting. */
  | { readonly type: 'set-ack'; readonly indices: readonly number[]; readonly ack: boolean }
  /** A clean stop of one agent: release, wait for the broker's PUBACK (or the reply), disconnect. */
  | { readonly type: 'release'; readonly i: number }
  | { readonly type: 'stop' };

export interface LeaseEvent {
  readonly kind: 'lease';
  readonly i: number;
  readonly seq: number;
  readonly tags: number;
  readonly connections: number;
  readonly ttl: number;
  readonly exp: number;
  /** Wall-clock ms (fractional) when the verified lease was accepted. */
  readonly at: number;
  readonly acked: boolean;
}

export type FleetEvent =
  | LeaseEvent
  | { readonly kind: 'refused'; readonly i: number; readonly reason: string; readonly at: number }
  /** `openedAt`: when this agent started to connect (agents start as connect slots free up). */
  | { readonly kind: 'connected'; readonly i: number; readonly at: number; readonly openedAt: number }
  | { readonly kind: 'released'; readonly i: number; readonly at: number }
  | { readonly kind: 'error'; readonly i: number; readonly message: string; readonly at: number };

export type WorkerToParent =
  /** Modules loaded; the worker waits for `start`. */
  | { readonly type: 'ready' }
  | { readonly type: 'events'; readonly events: readonly FleetEvent[] }
  | { readonly type: 'stopped' };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();
