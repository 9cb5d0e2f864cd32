import type { Sql } from 'postgres';

/**
 * The mix's stand-in for time passing: a gateway's live leases (its oldest, or all of them) are
 * made to have expired a second ago. Returns the leases it aged.
 *
 * Real time cannot jump, this can; so it takes the gateway's row first, as every server path that
 * ends a lease does (grant, acknowledgement, release, reclaim). Without it, a renewal in an
 * over-committed pool could pass its keep guard with the lease still live, the age commit before
 * the renewal did, and a reader in between see the points gone and then back: "over-committed pool
 * grew" (invariant seed 31337, CI at f14fd0b), a jump no clock makes and no commit margin covers.
 * Under the lock the age comes wholly before the renewal's clock read or after its commit.
 *
 * `beforeAging` is told the leases before the age commits (the agent model drops them first: the
 * same time passes for the agent).
 */
export function ageLeases(sql: Sql, gatewayId: string, all: boolean, beforeAging: (ids: string[]) => void = () => {}): Promise<string[]> {
  return sql.begin(async (tx) => {
    await tx`select id from gateways where id = ${gatewayId} for update`;
    const aged = await tx<{ id: string }[]>`
      update leases set expires_at = clock_timestamp() - interval '1 second'
      where id in (
        select id from leases where gateway_id = ${gatewayId} and state in ('issued', 'acknowledged') and expires_at > clock_timestamp()
        order by seq limit ${all ? 1000 : 1})
      returning id`;
    const ids = aged.map((l) => l.id);
    // Before the commit, so before anyone sees them aged.
    beforeAging(ids);
    return ids;
  });
}
