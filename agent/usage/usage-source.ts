/** What the gateway uses now: tags, and connections (south and north nodes together). */
interface Usage {
  readonly tags: number;
  readonly connections: number;
}

/** Where the agent reads the gateway's usage from; the NeuronEX usage watcher is one. */
export interface UsageSource {
  /** The latest reading, or undefined while none is known. */
  current(): Usage | undefined;
}

/** For gateways whose usage the agent cannot read (yet): nothing is reported. */
export const noUsageSource: UsageSource = Object.freeze({ current: () => undefined });
