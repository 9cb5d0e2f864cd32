import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/api-harness.js';

/**
 * Issue 15 finding 7: a burst of allocation raises held every database connection, each queued on
 * the pool row lock, and agents' lease grants waited behind the whole burst. Administrative writes
 * now run in their own lane of the connection budget (server/db/connection-budget.ts), so grants
 * for other gateways of the same pool finish while most of the burst is still queued.
 * Ordering, not wall-clock: we count the raises answered at the moment the last grant is answered.
 */
const RAISES = 300;
const AGENTS = 8;
const TARGETS = 10;

const h = useHarness();

describe('an allocation burst and agents (connection lanes)', () => {
  it('agents get their leases while the admin burst is still queued', async () => {
    const poolId = await h.pool({ tags: 100_000, connections: 1_000 });
    const code = await h.code(poolId, TARGETS + AGENTS);
    const targets = await Promise.all(Array.from({ length: TARGETS }, () => h.enroll(code)));
    const agents = await Promise.all(Array.from({ length: AGENTS }, () => h.enroll(code)));
    // Each agent holds a lease before the burst, so the grants below are ordinary renewals.
    for (const a of agents) expect((await h.api('POST', '/api/v1/agent/lease', {}, a.credential)).status).toBe(200);

    let raisesDone = 0;
    let firstRaise!: () => void;
    const started = new Promise<void>((resolve) => (firstRaise = resolve));
    const burst = Array.from({ length: RAISES }, async (_, i) => {
      const target = targets[i % TARGETS]!;
      const r = await h.api('PUT', `/api/v1/gateways/${target.gatewayId}/allocation`, { tags: 1 + i, connections: 1 });
      raisesDone += 1;
      firstRaise();
      return r.status;
    });
    await started;
    const doneAtStart = raisesDone;

    const grants = await Promise.all(
      agents.map(async (a) => {
        const r = await h.api<{ jti: string }>('POST', '/api/v1/agent/lease', {}, a.credential);
        return { status: r.status, raisesDone };
      }),
    );
    const doneWhenAgentsServed = Math.max(...grants.map((g) => g.raisesDone));
    const statuses = await Promise.all(burst);

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(grants.map((g) => g.status)).toEqual(agents.map(() => 200));
    // The burst was under way when the agents asked, and most of it was still queued when the
    // last of them had its lease. Before the lane, grants queued behind the burst's transactions
    // for a connection and finished with nearly all of it (about 290 of 300 raises answered).
    expect(doneAtStart).toBeLessThan(RAISES);
    expect(doneWhenAgentsServed).toBeLessThan(RAISES / 2);
  });
});
