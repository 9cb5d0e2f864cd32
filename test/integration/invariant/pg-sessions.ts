import type { Sql } from 'postgres';
import { waitFor } from '../../helpers/ports.js';

/** Server processes of this database other than the caller's, as pg_stat_activity shows them. */
interface Activity {
  pid: number;
  state: string | null;
  wait_event_type: string | null;
  query: string;
}

async function activity(sql: Sql): Promise<Activity[]> {
  return (await sql`
    select pid, state, wait_event_type, query from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()`) as unknown as Activity[];
}

/**
 * Backends blocked on a lock now whose statement contains `fragment` (case-insensitive); a
 * fragment, not a prefix, because the lease engine's batched writes start with a CTE.
 */
export async function backendsWaitingOn(sql: Sql, fragment: string): Promise<number[]> {
  return (await activity(sql)).filter((a) => a.wait_event_type === 'Lock' && a.query.toLowerCase().includes(fragment.toLowerCase())).map((a) => a.pid);
}

/** Waits for the one backend blocked on a lock whose statement contains `fragment` (see backendsWaitingOn). */
export function backendWaitingOn(sql: Sql, fragment: string): Promise<number> {
  return waitFor(`a backend waiting on a lock in "${fragment}"`, async () => {
    const waiting = await backendsWaitingOn(sql, fragment);
    return waiting.length === 1 ? waiting[0]! : undefined;
  }, { timeoutMs: 5_000, intervalMs: 10 });
}

/** The one backend idle inside an open transaction whose last statement contained `fragment`. */
export function backendIdleInTransaction(sql: Sql, fragment: string): Promise<number> {
  return waitFor(`a backend idle in transaction after "${fragment}"`, async () => {
    const idle = (await activity(sql)).filter((a) => a.state === 'idle in transaction' && a.query.toLowerCase().includes(fragment.toLowerCase()));
    return idle.length === 1 ? idle[0]!.pid : undefined;
  }, { timeoutMs: 5_000, intervalMs: 10 });
}

/** Kills a backend as an OOM kill or a crashed node would: its transaction rolls back. */
export async function terminate(sql: Sql, pid: number): Promise<void> {
  const [r] = (await sql`select pg_terminate_backend(${pid}) as ok`) as unknown as [{ ok: boolean }];
  if (!r.ok) throw new Error(`could not terminate backend ${pid}`);
}

/** True when the gateway row is locked by someone else right now. */
export async function gatewayRowLocked(sql: Sql, gatewayId: string): Promise<boolean> {
  try {
    await sql.begin(async (tx) => {
      await tx`select id from gateways where id = ${gatewayId} for update nowait`;
    });
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') return true;
    throw err;
  }
}

/** Cancels a backend's running statement: its transaction fails and rolls back, the connection lives. */
export async function cancel(sql: Sql, pid: number): Promise<void> {
  const [r] = (await sql`select pg_cancel_backend(${pid}) as ok`) as unknown as [{ ok: boolean }];
  if (!r.ok) throw new Error(`could not cancel backend ${pid}`);
}

/** Waits until a terminated backend has exited (so its client has seen the connection close). */
export async function backendGone(sql: Sql, pid: number): Promise<void> {
  await waitFor(`backend ${pid} to exit`, async () => !(await activity(sql)).some((a) => a.pid === pid), { timeoutMs: 5_000, intervalMs: 10 });
  await new Promise((r) => setTimeout(r, 50));
}

/** Cancels the running statement of one random active controller backend; true if there was one. */
export async function cancelRandomControllerStatement(sql: Sql): Promise<boolean> {
  const rows = await sql`
    select pg_cancel_backend(pid) as ok from pg_stat_activity
    where datname = current_database() and application_name = 'floatlease' and state = 'active'
    order by random() limit 1`;
  return rows.length > 0;
}
