import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomHardwareId, useHarness } from '../../helpers/api-harness.js';

const h = useHarness();
beforeAll(async () => {
  await script();
}, 60_000);

interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  action: string;
  poolId: string | null;
  gatewayId: string | null;
  subject: string;
  before: unknown;
  after: unknown;
}
interface AuditPage {
  items: AuditEvent[];
  nextBefore: number | null;
}

const ADMIN = 'token:bootstrap-admin';
/** An allocation's audit row also records whether it is reserved and its priority (F2 since issue 14). */
const NOT_RESERVED = { reserved: false, priority: 0 };

/** What each scripted step must have written, in order. */
interface Step {
  action: string;
  actor: string;
  poolId: string | null;
  gatewayId: string | null;
  before: unknown;
  after: unknown;
}

const ids = { poolA: '', poolB: '', codeA: '', gw1: '', gw2: '', token: '' };
const marks = { t0: '', t1: '', t2: '', t3: '' };
const steps: Step[] = [];

/**
 * A timestamp strictly between the events before and after it (the API filters by the millisecond).
 * The pauses wait for nothing: they only keep events out of the mark's millisecond, and a busy
 * machine can only lengthen them.
 */
async function mark(): Promise<string> {
  await sleep(15);
  const at = new Date().toISOString();
  await sleep(15);
  return at;
}

async function ok<T>(status: number, p: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await p;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A scripted sequence of administrative changes (and one agent action) across two pools. */
async function script(): Promise<void> {
  const settings = { description: '', leaseTtlSeconds: 300, reclaim: 'on-expiry', disconnectGraceSeconds: 60, grantMode: 'partial', maxOversubscription: null, overdraftFactor: 1, alarmRaiseRatio: 0.8, alarmClearRatio: 0.75 };
  marks.t0 = await mark();
  ids.poolA = (await ok(201, h.api<{ id: string }>('POST', '/api/v1/pools', { name: 'audit-a' }))).id;
  steps.push({ action: 'pool.created', actor: ADMIN, poolId: ids.poolA, gatewayId: null, before: null, after: { name: 'audit-a', ...settings } });
  await ok(200, h.api('PUT', `/api/v1/pools/${ids.poolA}/license`, { license: await h.license({ tags: 100, connections: 10 }) }));
  steps.push({ action: 'pool.license.uploaded', actor: ADMIN, poolId: ids.poolA, gatewayId: null, before: null, after: expect.objectContaining({ tags: 100, connections: 10, shortfalls: [] }) });
  const codeA = await ok(201, h.api<{ id: string; code: string }>('POST', `/api/v1/pools/${ids.poolA}/activation-codes`, { seats: 2, label: 'line 1' }));
  ids.codeA = codeA.id;
  steps.push({ action: 'activation-code.created', actor: ADMIN, poolId: ids.poolA, gatewayId: null, before: null, after: expect.objectContaining({ id: codeA.id, seats: 2, label: 'line 1' }) });
  const hw1 = randomHardwareId();
  const gw1 = await h.enroll(codeA.code, hw1);
  ids.gw1 = gw1.gatewayId;
  steps.push({ action: 'gateway.enrolled', actor: `gateway:${ids.gw1}`, poolId: ids.poolA, gatewayId: ids.gw1, before: null, after: expect.objectContaining({ hardwareId: hw1 }) });

  marks.t1 = await mark();
  await ok(200, h.api('PUT', `/api/v1/gateways/${ids.gw1}/allocation`, { tags: 10, connections: 1 }));
  steps.push({ action: 'allocation.changed', actor: ADMIN, poolId: ids.poolA, gatewayId: ids.gw1, before: { tags: 0, connections: 0, plugins: [], ...NOT_RESERVED }, after: { tags: 10, connections: 1, plugins: [], ...NOT_RESERVED } });
  await ok(200, h.api('POST', '/api/v1/agent/lease', {}, gw1.credential));
  steps.push({ action: 'lease.granted', actor: `gateway:${ids.gw1}`, poolId: ids.poolA, gatewayId: ids.gw1, before: null, after: expect.objectContaining({ points: { tags: 10, connections: 1 }, reason: 'grant' }) });
  const oldName = (await ok(200, h.api<{ name: string }>('GET', `/api/v1/gateways/${ids.gw1}`))).name;
  await ok(200, h.api('PATCH', `/api/v1/gateways/${ids.gw1}`, { name: 'press-7' }));
  steps.push({ action: 'gateway.renamed', actor: ADMIN, poolId: ids.poolA, gatewayId: ids.gw1, before: { name: oldName }, after: { name: 'press-7' } });
  ids.poolB = (await ok(201, h.api<{ id: string }>('POST', '/api/v1/pools', { name: 'audit-b', leaseTtlSeconds: 60 }))).id;
  steps.push({ action: 'pool.created', actor: ADMIN, poolId: ids.poolB, gatewayId: null, before: null, after: { name: 'audit-b', ...settings, leaseTtlSeconds: 60 } });
  await ok(200, h.api('PUT', `/api/v1/pools/${ids.poolB}/license`, { license: await h.license({ tags: 50, connections: 5 }) }));
  steps.push({ action: 'pool.license.uploaded', actor: ADMIN, poolId: ids.poolB, gatewayId: null, before: null, after: expect.objectContaining({ tags: 50, connections: 5 }) });
  const codeB = await ok(201, h.api<{ id: string; code: string }>('POST', `/api/v1/pools/${ids.poolB}/activation-codes`, { seats: 1 }));
  steps.push({ action: 'activation-code.created', actor: ADMIN, poolId: ids.poolB, gatewayId: null, before: null, after: expect.objectContaining({ id: codeB.id, seats: 1 }) });
  const hw2 = randomHardwareId();
  ids.gw2 = (await h.enroll(codeB.code, hw2)).gatewayId;
  steps.push({ action: 'gateway.enrolled', actor: `gateway:${ids.gw2}`, poolId: ids.poolB, gatewayId: ids.gw2, before: null, after: expect.objectContaining({ hardwareId: hw2 }) });

  marks.t2 = await mark();
  await ok(200, h.api('PUT', `/api/v1/gateways/${ids.gw2}/allocation`, { tags: 5, connections: 1 }));
  steps.push({ action: 'allocation.changed', actor: ADMIN, poolId: ids.poolB, gatewayId: ids.gw2, before: { tags: 0, connections: 0, plugins: [], ...NOT_RESERVED }, after: { tags: 5, connections: 1, plugins: [], ...NOT_RESERVED } });
  await ok(200, h.api('PATCH', `/api/v1/pools/${ids.poolA}`, { description: 'hall 3' }));
  steps.push({ action: 'pool.updated', actor: ADMIN, poolId: ids.poolA, gatewayId: null, before: { name: 'audit-a', ...settings }, after: { name: 'audit-a', ...settings, description: 'hall 3' } });
  await ok(200, h.api('POST', `/api/v1/activation-codes/${ids.codeA}/revoke`));
  steps.push({ action: 'activation-code.revoked', actor: ADMIN, poolId: ids.poolA, gatewayId: null, before: null, after: { id: ids.codeA } });
  ids.token = (await ok(201, h.api<{ id: string }>('POST', '/api/v1/tokens', { name: 'ops', role: 'operator' }))).id;
  steps.push({ action: 'token.created', actor: ADMIN, poolId: null, gatewayId: null, before: null, after: { name: 'ops', role: 'operator' } });
  await ok(200, h.api('DELETE', `/api/v1/tokens/${ids.token}`));
  steps.push({ action: 'token.revoked', actor: ADMIN, poolId: null, gatewayId: null, before: { name: 'ops', role: 'operator' }, after: null });
  await ok(200, h.api('DELETE', `/api/v1/gateways/${ids.gw2}`));
  steps.push({ action: 'gateway.revoked', actor: ADMIN, poolId: ids.poolB, gatewayId: ids.gw2, before: { tags: 5, connections: 1 }, after: null });
  marks.t3 = await mark();
}

async function query(qs: string): Promise<AuditPage> {
  const r = await h.api<AuditPage>('GET', `/api/v1/audit?${qs}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Newest first, like the API. */
const actionsOf = (events: { action: string }[]) => events.map((e) => e.action);
const expected = (pred: (s: Step, i: number) => boolean) => actionsOf(steps.filter(pred)).reverse();
const stepIndex = { t1: 4, t2: 11 };

describe('audit trail', () => {
  it('every scripted change wrote exactly one event with actor, action, subject and before/after', async () => {
    const all = (await query(`from=${marks.t0}&limit=500`)).items.slice().reverse();
    expect(all.map((e) => e.action)).toEqual(steps.map((s) => s.action));
    all.forEach((e, i) => {
      const s = steps[i]!;
      expect(e, `step ${i} ${s.action}`).toMatchObject({ action: s.action, actor: s.actor, poolId: s.poolId, gatewayId: s.gatewayId });
      expect(e.before, `step ${i} ${s.action} before`).toEqual(s.before);
      expect(e.after, `step ${i} ${s.action} after`).toEqual(s.after);
      expect(e.subject.length, `step ${i} subject`).toBeGreaterThan(0);
      // Administrative changes always describe the state they changed.
      if (s.actor === ADMIN) expect(e.before !== null || e.after !== null).toBe(true);
    });
    // No secret (activation code, credential, token) ever appears in the trail.
    expect(JSON.stringify(all)).not.toMatch(/fl_[A-Za-z0-9_-]{20}|flg\.|FLAC-[0-9A-Z]{4}-[0-9A-Z]{4}/);
  });

  it('filters by gateway', async () => {
    expect(actionsOf((await query(`gatewayId=${ids.gw1}`)).items)).toEqual(['gateway.renamed', 'lease.granted', 'allocation.changed', 'gateway.enrolled']);
    expect(actionsOf((await query(`gatewayId=${ids.gw2}`)).items)).toEqual(['gateway.revoked', 'allocation.changed', 'gateway.enrolled']);
  });

  it('filters by pool', async () => {
    expect(actionsOf((await query(`poolId=${ids.poolA}`)).items)).toEqual(expected((s) => s.poolId === ids.poolA));
    expect(actionsOf((await query(`poolId=${ids.poolB}`)).items)).toEqual([
      'gateway.revoked',
      'allocation.changed',
      'gateway.enrolled',
      'activation-code.created',
      'pool.license.uploaded',
      'pool.created',
    ]);
  });

  it('filters by action and actor', async () => {
    const allocations = (await query('action=allocation.changed')).items;
    expect(allocations.map((e) => e.gatewayId)).toEqual([ids.gw2, ids.gw1]);
    expect((await query('action=pool.created')).items.map((e) => e.poolId)).toEqual([ids.poolB, ids.poolA]);
    expect(actionsOf((await query(`actor=gateway:${ids.gw1}`)).items)).toEqual(['lease.granted', 'gateway.enrolled']);
    expect((await query('action=no.such.action')).items).toEqual([]);
  });

  it('filters by time range, alone and combined with other filters', async () => {
    const inRange = (from: number, to: number) => (_s: Step, i: number) => i >= from && i < to;
    expect(actionsOf((await query(`from=${marks.t0}&to=${marks.t1}`)).items)).toEqual(expected(inRange(0, stepIndex.t1)));
    expect(actionsOf((await query(`from=${marks.t1}&to=${marks.t2}`)).items)).toEqual(expected(inRange(stepIndex.t1, stepIndex.t2)));
    expect(actionsOf((await query(`from=${marks.t2}`)).items)).toEqual(expected(inRange(stepIndex.t2, steps.length)));
    expect(actionsOf((await query(`from=${marks.t1}&to=${marks.t2}&poolId=${ids.poolA}`)).items)).toEqual(['gateway.renamed', 'lease.granted', 'allocation.changed']);
    expect((await query(`from=${marks.t3}`)).items).toEqual([]);
    // Before the script only the bootstrap token existed.
    expect(actionsOf((await query(`to=${marks.t0}`)).items)).toEqual(['token.created']);
  });

  it('pages newest first with the `before` cursor, without gaps or repeats', async () => {
    const full = (await query(`from=${marks.t0}`)).items;
    expect(full).toHaveLength(steps.length);
    for (const limit of [4, 17]) {
      const seen: AuditEvent[] = [];
      const sizes: number[] = [];
      let cursor: number | null = null;
      do {
        const page: AuditPage = await query(`from=${marks.t0}&limit=${limit}${cursor ? `&before=${cursor}` : ''}`);
        sizes.push(page.items.length);
        seen.push(...page.items);
        if (page.nextBefore !== null) expect(page.nextBefore).toBe(page.items.at(-1)?.id);
        cursor = page.nextBefore;
      } while (cursor !== null);
      expect(seen.map((e) => e.id)).toEqual(full.map((e) => e.id));
      // A full last page cannot know it is the last: one more, empty, page ends the walk.
      expect(steps.length).toBe(17);
      expect(sizes).toEqual(limit === 4 ? [4, 4, 4, 4, 1] : [17, 0]);
    }
    // The cursor combines with filters.
    const poolA = await query(`poolId=${ids.poolA}&limit=3`);
    const rest = await query(`poolId=${ids.poolA}&before=${poolA.nextBefore}`);
    expect(actionsOf([...poolA.items, ...rest.items])).toEqual(expected((s) => s.poolId === ids.poolA));
  });
});
