import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentSpec, FleetEvent, FleetWorkerConfig, LeaseEvent, ParentToWorker, WorkerToParent } from './fleet-messages.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fleet-worker.ts');
const PROFILE_HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-profile-hook.ts');

/** What the parent knows about one agent, from its worker's events. */
export interface AgentState {
  seq: number;
  tags: number;
  connections: number;
  ttl: number;
  exp: number;
  at: number;
  acked: boolean;
  firstLeaseAt: number | undefined;
  connectedAt: number | undefined;
  openedAt: number | undefined;
  connects: number;
  leases: number;
  releasedAt: number | undefined;
}

type Check = () => boolean;
interface Waiter {
  check: Check;
  resolve: () => void;
}

/** Simulated agents spread over worker processes; the parent's view of every agent's lease. */
export class Fleet {
  readonly agents: AgentState[];
  readonly errors: string[] = [];
  errorCount = 0;
  refusedCount = 0;
  private readonly workers: ChildProcess[] = [];
  private readonly workerOf = new Map<number, ChildProcess>();
  private waiters: Waiter[] = [];
  private readonly leaseListeners = new Map<number, Set<(e: LeaseEvent) => void>>();
  private readonly allLeaseListeners = new Set<(e: LeaseEvent) => void>();
  private readonly configs: FleetWorkerConfig[] = [];

  constructor(size: number) {
    this.agents = Array.from({ length: size }, () => ({
      seq: 0,
      tags: 0,
      connections: 0,
      ttl: 0,
      exp: 0,
      at: 0,
      acked: false,
      firstLeaseAt: undefined,
      connectedAt: undefined,
      openedAt: undefined,
      connects: 0,
      leases: 0,
      releasedAt: undefined,
    }));
  }

  /** Starts one worker process for the given agents; resolves with its index once it is loaded. */
  async spawnWorker(config: Omit<FleetWorkerConfig, 'agents'>, agents: readonly AgentSpec[]): Promise<number> {
    const profile = process.env.BENCH_PROFILE_FLEET === '1' ? ['--import', PROFILE_HOOK] : [];
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', ...profile],
      env: { ...process.env, BENCH_PROFILE_ROLE: 'fleet' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const index = this.workers.length;
    this.workers.push(child);
    this.configs.push({ ...config, agents });
    for (const a of agents) this.workerOf.set(a.i, child);
    child.on('error', (err) => this.noteError(`worker ${child.pid}: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet worker ${child.pid} did not load in 60 s`)), 60_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`fleet worker ${child.pid} exited while loading (${code ?? signal})`));
      });
      child.on('message', (raw) => {
        const m = raw as WorkerToParent;
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else this.onMessage(m);
      });
    });
    return index;
  }

  /** Lets a loaded worker's agents connect. */
  begin(index: number): void {
    const w = this.workers[index];
    const config = this.configs[index];
    if (w && config) this.send(w, { type: 'start', config });
  }

  /** The next lease event of agent `i` that satisfies `match`. */
  nextLease(i: number, match: (e: LeaseEvent) => boolean, timeoutMs: number): Promise<LeaseEvent> {
    return new Promise((resolve, reject) => {
      const set = this.leaseListeners.get(i) ?? new Set();
      this.leaseListeners.set(i, set);
      const listener = (e: LeaseEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        set.delete(listener);
        resolve(e);
      };
      const timer = setTimeout(() => {
        set.delete(listener);
        reject(new Error(`agent ${i}: no matching lease within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      set.add(listener);
    });
  }

  /** Every lease event of every agent, until the returned function is called. */
  onLease(listener: (e: LeaseEvent) => void): () => void {
    this.allLeaseListeners.add(listener);
    return () => this.allLeaseListeners.delete(listener);
  }

  workerPids(): number[] {
    return this.workers.flatMap((w) => (w.pid !== undefined && w.exitCode === null && w.signalCode === null ? [w.pid] : []));
  }

  setAck(indices: readonly number[], ack: boolean): void {
    const byWorker = new Map<ChildProcess, number[]>();
    for (const i of indices) {
      const w = this.workerOf.get(i);
      if (w) byWorker.set(w, [...(byWorker.get(w) ?? []), i]);
    }
    for (const [w, list] of byWorker) this.send(w, { type: 'set-ack', indices: list, ack });
  }

  release(i: number): void {
    const w = this.workerOf.get(i);
    if (w) this.send(w, { type: 'release', i });
  }

  /** Resolves when `check` holds (evaluated after every batch of events), rejects after `timeoutMs`. */
  until(what: string, check: Check, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** SIGKILL: the agents vanish without a release; the kernel closes their sockets. */
  killWorker(index: number): void {
    this.workers[index]?.kill('SIGKILL');
  }

  /** Asks every worker to stop; kills those that have not exited after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const alive = this.workers.filter((w) => w.exitCode === null && w.signalCode === null);
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              w.kill('SIGKILL');
              resolve();
            }, graceMs);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            this.send(w, { type: 'stop' });
          }),
      ),
    );
  }

  /** Synchronous last resort for process exit handlers. */
  killAll(): void {
    for (const w of this.workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  }

  private send(w: ChildProcess, m: ParentToWorker): void {
    if (w.connected) w.send(m);
  }

  private noteError(message: string): void {
    this.errorCount += 1;
    if (this.errors.length < 20) this.errors.push(message);
  }

  private onMessage(m: WorkerToParent): void {
    if (m.type !== 'events') return;
    for (const e of m.events) this.apply(e);
    if (this.waiters.length) {
      const done = this.waiters.filter((w) => w.check());
      if (done.length) {
        this.waiters = this.waiters.filter((w) => !done.includes(w));
        done.forEach((w) => w.resolve());
      }
    }
  }

  private apply(e: FleetEvent): void {
    const a = this.agents[e.i];
    if (!a) return;
    switch (e.kind) {
      case 'lease':
        if (e.seq > a.seq) Object.assign(a, { seq: e.seq, tags: e.tags, connections: e.connections, ttl: e.ttl, exp: e.exp, at: e.at, acked: e.acked });
        a.firstLeaseAt ??= e.at;
        a.leases += 1;
        for (const l of this.leaseListeners.get(e.i) ?? []) l(e);
        for (const l of this.allLeaseListeners) l(e);
        break;
      case 'connected':
        a.connectedAt ??= e.at;
        a.openedAt ??= e.openedAt;
        a.connects += 1;
        break;
      case 'released':
        a.releasedAt = e.at;
        break;
      case 'refused':
        this.refusedCount += 1;
        this.noteError(`agent ${e.i} refused a lease: ${e.reason}`);
        break;
      case 'error':
        this.noteError(`agent ${e.i}: ${e.message}`);
        break;
    }
  }
}
