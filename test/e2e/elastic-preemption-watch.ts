import fs from 'node:fs/promises';
import path from 'node:path';

/** What the test knows of the victim's agent: a stopped or dead agent must not be called. */
export interface Victim {
  state: 'running' | 'stopped' | 'dead';
  /** While stopped or dead: the lease it enforced when it froze (it enforces nothing past its exp). */
  frozen: { tags: number; expMs: number } | null;
}

/** The lease an agent enforces, from its state folder (lease.json is written atomically). */
export async function enforcedLease(stateDir: string): Promise<{ tags: number; expMs: number }> {
  const file = JSON.parse(await fs.readFile(path.join(stateDir, 'lease.json'), 'utf8')) as { lease: { jws: string } | null };
  if (!file.lease) throw new Error(`no lease in ${stateDir}`);
  const claims = JSON.parse(Buffer.from(file.lease.jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number; points: { tags: number } };
  return { tags: claims.points.tags, expMs: claims.exp * 1000 };
}

interface WatchSources {
  readonly limit: number;
  /** The elastic gateway's max: its allocation never goes above it. */
  readonly max: number;
  readonly poolHeld: () => Promise<number>;
  readonly lowAllocation: () => Promise<number>;
  /** Tags the gaining agent enforces; read before the victim's (a cut precedes the grant it serves). */
  readonly gainerTags: () => Promise<number>;
  readonly victimTags: () => Promise<number>;
  readonly victim: Victim;
}

/**
 * Samples, until stopped, the invariant on both sides: the controller's pool never holds more than
 * its limit, and the tags the agents enforce never sum above it (a frozen or killed victim counts
 * with the lease it held until that lease's exp). Every sample must pass: a failure is recorded,
 * not retried. Signals to the victim go through `exclusive`, so no sample is cut in half.
 */
export class AgentSideWatch {
  readonly violations: string[] = [];
  samples = 0;
  /** The most the agents enforced at once. */
  peak = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: WatchSources) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.exclusive(() => this.sample()).catch((err: unknown) => this.violations.push(`sample failed: ${String(err)}`));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  /** Runs `fn` between two samples. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async sample(): Promise<void> {
    const { limit, max, victim } = this.o;
    const at = () => new Date().toISOString();
    const held = await this.o.poolHeld();
    if (held > limit) this.violations.push(`${at()} controller: the pool holds ${held} > ${limit}`);
    const alloc = await this.o.lowAllocation();
    if (alloc > max) this.violations.push(`${at()} controller: the elastic allocation is ${alloc} > max ${max}`);
    const gainer = await this.o.gainerTags();
    const readAt = Date.now();
    const frozen = victim.frozen;
    const victimTags = victim.state === 'running' ? await this.o.victimTags() : frozen && readAt < frozen.expMs ? frozen.tags : 0;
    if (victimTags > max) this.violations.push(`${at()} agent: the victim enforces ${victimTags} > max ${max}`);
    if (gainer + victimTags > limit) this.violations.push(`${at()} agents: ${gainer} + ${victimTags} (victim ${victim.state}) > ${limit}`);
    this.peak = Math.max(this.peak, gainer + victimTags);
    this.samples += 1;
  }
}
