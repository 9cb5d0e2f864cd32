import { IdleWaiters } from '../idle-waiters.js';

/** The result for one request of a batch: its value, or the error only that request gets. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export const succeeded = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failed = <T>(error: unknown): Outcome<T> => ({ ok: false, error });

export interface BatchQueueOptions<Req> {
  /** Most requests one batch takes. */
  readonly maxBatch: number;
  /** Batches that run at once (each holds one database connection). */
  readonly lanes: number;
  /**
   * Requests with the same key never share a batch nor run in two batches at once; a later one
   * waits for the earlier one's batch to finish, so per-key order is arrival order.
   */
  readonly key: (req: Req) => string;
}

interface Waiting<Req, Res> {
  readonly req: Req;
  readonly resolve: (res: Res) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Turns single requests into batches without a timer: an idle queue runs a request at once (a
 * batch of one), and whatever arrives while every lane is busy is taken together by the next
 * free lane. Under load batches grow by themselves, so the per-request cost falls as load rises
 * and nothing waits for a batch to fill.
 */
export class BatchQueue<Req, Res> {
  private queue: Waiting<Req, Res>[] = [];
  private readonly running = new Set<string>();
  private busyLanes = 0;
  private readonly idleWaiters = new IdleWaiters(() => this.queue.length === 0 && this.busyLanes === 0);

  constructor(
    private readonly runBatch: (batch: readonly Req[]) => Promise<readonly Outcome<Res>[]>,
    private readonly opts: BatchQueueOptions<Req>,
  ) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError('maxBatch must be a positive whole number');
    if (!Number.isInteger(opts.lanes) || opts.lanes < 1) throw new RangeError('lanes must be a positive whole number');
  }

  /** Requests waiting for a lane (not counting those in running batches). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    return this.idleWaiters.wait();
  }

  private pump(): void {
    while (this.busyLanes < this.opts.lanes) {
      const batch = this.take();
      if (batch.length === 0) break;
      this.busyLanes += 1;
      void this.runLane(batch);
    }
  }

  /** The oldest requests whose keys are neither in this batch nor in a running one. */
  private take(): Waiting<Req, Res>[] {
    const taken: Waiting<Req, Res>[] = [];
    const left: Waiting<Req, Res>[] = [];
    let i = 0;
    for (; i < this.queue.length && taken.length < this.opts.maxBatch; i++) {
      const w = this.queue[i]!;
      const key = this.opts.key(w.req);
      if (this.running.has(key)) left.push(w);
      else {
        this.running.add(key);
        taken.push(w);
      }
    }
    if (taken.length) this.queue = i === this.queue.length ? left : left.concat(this.queue.slice(i));
    return taken;
  }

  private async runLane(batch: Waiting<Req, Res>[]): Promise<void> {
    try {
      const outcomes = await this.runBatch(batch.map((w) => w.req));
      batch.forEach((w, k) => {
        const o = outcomes[k];
        if (!o) w.reject(new Error('batch returned no outcome for a request'));
        else if (o.ok) w.resolve(o.value);
        else w.reject(o.error);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      for (const w of batch) this.running.delete(this.opts.key(w.req));
      this.busyLanes -= 1;
      this.pump();
      this.idleWaiters.check();
    }
  }
}
