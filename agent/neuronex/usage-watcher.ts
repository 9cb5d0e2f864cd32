import type { Limits } from '../../shared/protocol/limits.js';
import type { GatewayUsage, NeuronClient, SouthNode } from './neuron-client.js';

type OverLimitPolicy = 'block-new' | 'stop-excess';

const RUNNING = 3;
const STOPPED = 4;

export interface UsageWatcherOptions {
  readonly neuron: NeuronClient;
  readonly limits: () => Limits;
  readonly policy: OverLimitPolicy;
  readonly intervalMs: number;
  /** Called with every fresh reading (the agent reports it to the controller). */
  readonly onUsage: (usage: GatewayUsage) => void;
  readonly onNodeControl?: (node: string, action: 'stopped' | 'started') => void;
  readonly onError?: (err: unknown) => void;
}

/**
 * Reads the gateway's real usage every interval. Over the limits, `block-new` only refuses new
 * creations (the proxy does that); `stop-excess` stops south nodes newest first until the running
 * nodes fit, and starts the ones it stopped again, oldest first, when points return.
 */
export class UsageWatcher {
  private timer: NodeJS.Timeout | undefined;
  private latest: GatewayUsage | undefined;
  private running: Promise<void> | undefined;
  /** Nodes this watcher stopped; nodes an operator stopped are never started by us. */
  private readonly stoppedByUs = new Set<string>();

  constructor(private readonly o: UsageWatcherOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  last(): GatewayUsage | undefined {
    return this.latest;
  }

  /** One reading and, under stop-excess, one enforcement pass. Concurrent calls share a pass. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      const usage = await this.o.neuron.usage();
      this.latest = usage;
      this.o.onUsage(usage);
      if (this.o.policy === 'stop-excess') await this.enforce(usage, this.o.limits());
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  private async enforce(usage: GatewayUsage, limits: Limits): Promise<void> {
    const active = usage.south.filter((n) => n.running !== STOPPED);
    let connections = usage.north + active.length;
    let tags = active.reduce((a, n) => a + n.tags, 0);
    const over = () => connections > limits.connections || tags > limits.tags;
    for (const node of [...active].reverse()) {
      if (!over()) break;
      // Only a running node can be stopped (Neuron answers 2008 for one in INIT or READY).
      if (node.running !== RUNNING) continue;
      await this.o.neuron.nodeControl(node.name, 1);
      this.stoppedByUs.add(node.name);
      this.o.onNodeControl?.(node.name, 'stopped');
      connections -= 1;
      tags -= node.tags;
    }
    if (over()) return;
    const restartable = usage.south.filter((n: SouthNode) => n.running === STOPPED && this.stoppedByUs.has(n.name));
    for (const node of restartable) {
      if (connections + 1 > limits.connections || tags + node.tags > limits.tags) break;
      await this.o.neuron.nodeControl(node.name, 0);
      this.stoppedByUs.delete(node.name);
      this.o.onNodeControl?.(node.name, 'started');
      connections += 1;
      tags += node.tags;
    }
    // Forget nodes that were deleted meanwhile.
    const names = new Set(usage.south.map((n) => n.name));
    for (const n of this.stoppedByUs) if (!names.has(n)) this.stoppedByUs.delete(n);
  }
}
