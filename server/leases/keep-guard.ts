import type { Sql, TransactionSql } from 'postgres';
import { AppError } from '../errors/app-error.js';
import { heldByGatewaySql } from './lease-accounting.js';

/*
 * The commit-time keep guard (issue 14, invariant seeds 14014 and 31337: "over-committed pool grew").
 *
 * An over-committed pool must only shrink: a renewal there keeps at most what its gateway holds.
 * The grant batch judges that at its clock, read after the pool lock, with a horizon
 * (OVER_COMMITTED_KEEP_HORIZON_MS). A batch slower than the horizon (signing on a busy machine,
 * a stalled event loop, a slow commit) could still commit a renewal whose kept lease had expired
 * meanwhile: a reader between the expiry and the commit saw the points back in the pool, and the
 * agent had dropped them; after the commit they were held again. No check made in the batch's own
 * statements can rule that out, since the commit may come any time after them.
 *
 * So the database checks it at COMMIT: leases inserted with over_committed_keep run a deferred
 * constraint trigger, which judges the new lease against the gateway's other live leases at the
 * controller's clock at that moment (the batch's clock plus the time PostgreSQL measured since the
 * batch read it, so clock skew between the hosts and injected test clocks judge alike) plus a
 * margin for the commit itself. A refusal rolls the batch back; the lease service runs it again on
 * a fresh clock (retryOnKeepGuard), where the expired lease is no longer kept.
 *
 * The function is built from lease-accounting's held rule, so the rule keeps its one home; it is
 * (re)installed at every start, under the migration lock.
 */

const KEEP_GUARD_SQLSTATE = 'FL014';
const FUNCTION = 'floatlease_over_committed_keep_guard';
const TRIGGER = 'leases_over_committed_keep_guard';
/** What the commit may take after the trigger ran: other sessions see the rows only after it. */
const COMMIT_MARGIN_MS = 1000;
/** A batch refused at commit is run again at most this many times more (each on a later clock). */
const KEEP_GUARD_RETRIES = 3;

const FUNCTION_SQL = `
create or replace function ${FUNCTION}() returns trigger language plpgsql as $fn$
declare
  clock_ms float8 := nullif(current_setting('floatlease.keep_clock_ms', true), '')::float8;
  read_ms float8 := nullif(current_setting('floatlease.keep_read_ms', true), '')::float8;
  pg_ms float8 := extract(epoch from clock_timestamp()) * 1000;
  keep_at timestamptz;
  kept record;
begin
  keep_at := to_timestamp((coalesce(clock_ms, pg_ms) + (pg_ms - coalesce(read_ms, pg_ms)) + ${COMMIT_MARGIN_MS}) / 1000);
  select h.held_tags, h.held_connections into kept
    from (${heldByGatewaySql('keep_at', 'new.id')}) h
    where h.gateway_id = new.gateway_id;
  if new.tags > coalesce(kept.held_tags, 0) or new.connections > coalesce(kept.held_connections, 0) then
    raise exception 'lease % keeps points its gateway no longer holds at commit (over-committed pool)', new.id
      using errcode = '${KEEP_GUARD_SQLSTATE}';
  end if;
  return null;
end
$fn$`;

const TRIGGER_SQL = `
do $do$ begin
  if not exists (select 1 from pg_trigger where tgname = '${TRIGGER}' and tgrelid = 'leases'::regclass) then
    create constraint trigger ${TRIGGER} after insert on leases
      deferrable initially deferred for each row when (new.over_committed_keep)
      execute function ${FUNCTION}();
  end if;
end
$do$`;

/** Installs (or updates) the guard; the caller holds the migration lock, after the migrations. */
export async function installKeepGuard(sql: Sql): Promise<void> {
  await sql.unsafe(FUNCTION_SQL);
  await sql.unsafe(TRIGGER_SQL);
}

/** Tells the guard the batch's clock, once it is read (the guard adds what PostgreSQL measures since). */
export async function markKeepClock(tx: TransactionSql, nowMs: number): Promise<void> {
  await tx`select set_config('floatlease.keep_clock_ms', ${String(nowMs)}, true),
    set_config('floatlease.keep_read_ms', (extract(epoch from clock_timestamp()) * 1000)::text, true)`;
}

function isKeepGuardRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === KEEP_GUARD_SQLSTATE;
}

/**
 * Runs a grant transaction again when the guard refused it at commit; `refused` is told of each
 * refusal (a metric). After the last try the caller gets a 503: its agent retries like any failed renewal.
 */
export async function retryOnKeepGuard<T>(run: () => Promise<T>, refused: (err: unknown) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isKeepGuardRefusal(err)) throw err;
      refused(err);
      if (attempt >= KEEP_GUARD_RETRIES) {
        throw new AppError('unavailable', 'the pool is over-committed and this grant kept points that expired before it committed; try again');
      }
    }
  }
}
