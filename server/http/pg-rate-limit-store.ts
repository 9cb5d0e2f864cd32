import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Sql } from 'postgres';
import type { Db } from '../db/database.js';

interface Row {
  hits: number;
  reset_ms: number | string;
}

/**
 * The reset time as a Date, from epoch milliseconds: drizzle's postgres.js client hands timestamps
 * back as text (it parses the columns it owns itself), and callers call resetTime.getTime().
 */
const info = (row: Row): ClientRateLimitInfo => ({ totalHits: Number(row.hits), resetTime: new Date(Number(row.reset_ms)) });

/**
 * express-rate-limit's counters in PostgreSQL (table rate_limit_hits), so every replica counts
 * against one limit instead of each allowing the full limit. A fixed window per key, as its
 * MemoryStore has; the database's clock decides, so replicas' clocks need not agree. One upsert per
 * counted request: the limiters count failures only, which are few.
 */
export class PgRateLimitStore implements Store {
  /** Counters are shared by every replica: express-rate-limit must not assume they are local. */
  readonly localKeys = false;
  private windowMs = 60_000;
  private cleanup: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    /** Separates limiters sharing the table (e.g. "auth:", "enroll:"). */
    readonly prefix: string,
  ) {}

  private get sql(): Sql {
    return this.db.$client;
  }

  init(options: Pick<Options, 'windowMs'>): void {
    this.windowMs = options.windowMs;
    // Expired rows are dead weight only; clear them once a window.
    this.cleanup = setInterval(() => {
      this.sql`delete from rate_limit_hits where reset_at < now() - interval '1 minute'`.catch(() => undefined);
    }, this.windowMs);
    this.cleanup.unref();
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [row] = await this.sql<Row[]>`
      select hits, (extract(epoch from reset_at) * 1000)::float8 as reset_ms from rate_limit_hits where key = ${this.prefix + key} and reset_at > now()`;
    return row ? info(row) : undefined;
  }

  async increment(key: string): Promise<IncrementResponse> {
    const window = this.windowMs / 1000;
    const [row] = await this.sql<Row[]>`
      insert into rate_limit_hits as r (key, hits, reset_at) values (${this.prefix + key}, 1, now() + make_interval(secs => ${window}))
      on conflict (key) do update set
        hits = case when r.reset_at <= now() then 1 else r.hits + 1 end,
        reset_at = case when r.reset_at <= now() then now() + make_interval(secs => ${window}) else r.reset_at end
      returning hits, (extract(epoch from reset_at) * 1000)::float8 as reset_ms`;
    return info(row!);
  }

  async decrement(key: string): Promise<void> {
    await this.sql`update rate_limit_hits set hits = greatest(hits - 1, 0) where key = ${this.prefix + key}`;
  }

  async resetKey(key: string): Promise<void> {
    await this.sql`delete from rate_limit_hits where key = ${this.prefix + key}`;
  }

  shutdown(): void {
    clearInterval(this.cleanup);
  }
}
