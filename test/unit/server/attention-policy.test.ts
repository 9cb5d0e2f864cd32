import { describe, expect, it } from 'vitest';
import type { PoolView } from '../../../shared/protocol/rest.js';
import { attentionItems } from '../../../server/insights/attention-policy.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

function pool(over: Partial<PoolView> & { expiresInDays?: number | null } = {}): PoolView {
  const { expiresInDays = 365, ...rest } = over;
  const license =
    expiresInDays === null
      ? null
      : {
          id: '00000000-0000-4000-8000-000000000001',
          licenseRef: 'L',
          issuer: 'vendor',
          customer: 'ACME',
          issuedAt: new Date(NOW - DAY).toISOString(),
          expiresAt: new Date(NOW + expiresInDays * DAY).toISOString(),
          expired: expiresInDays <= 0,
          points: { tags: 100, connections: 10 },
          plugins: [],
          forced: false,
          uploadedBy: 'admin',
          uploadedAt: new Date(NOW - DAY).toISOString(),
          replacedAt: null,
        };
  return {
    id: '00000000-0000-4000-8000-0000000000aa',
    name: 'p',
    description: '',
    leaseTtlSeconds: 300,
    reclaim: 'on-expiry',
    disconnectGraceSeconds: 60,
    maxOversubscription: null,
    grantMode: 'partial',
    overdraftFactor: 1,
    alarmRaiseRatio: 0.9,
    alarmClearRatio: 0.8,
    capacity: { tags: 100, connections: 10 },
    limit: { tags: 100, connections: 10 },
    plugins: [],
    license,
    licenseExpired: expiresInDays !== null && expiresInDays <= 0,
    overCommitted: false,
    allocated: { tags: 0, connections: 0 },
    held: { tags: 0, connections: 0 },
    pending: { tags: 0, connections: 0 },
    inUse: { tags: 0, connections: 0 },
    free: { tags: 100, connections: 10 },
    utilization: { tags: 0, connections: 0 },
    gateways: { total: 0, online: 0 },
    createdAt: new Date(NOW - DAY).toISOString(),
    ...rest,
  };
}

describe('attentionItems: the one list of what needs a person', () => {
  const cases: { what: string; pool: PoolView; over?: number; kinds: string[] }[] = [
    { what: 'a healthy pool', pool: pool(), kinds: [] },
    { what: 'no license', pool: pool({ expiresInDays: null }), kinds: ['license-missing'] },
    { what: 'expired', pool: pool({ expiresInDays: -1 }), kinds: ['license-expired'] },
    { what: 'expiring in 10 days', pool: pool({ expiresInDays: 10 }), kinds: ['license-expiring'] },
    { what: 'expiring in exactly 30 days', pool: pool({ expiresInDays: 30 }), kinds: ['license-expiring'] },
    { what: 'expiring in 31 days', pool: pool({ expiresInDays: 31 }), kinds: [] },
    { what: 'over-committed (not also above alarm)', pool: pool({ overCommitted: true, utilization: { tags: 1.6, connections: 0 } }), kinds: ['over-committed'] },
    { what: 'at the alarm threshold', pool: pool({ utilization: { tags: 0.9, connections: 0.1 } }), kinds: ['above-alarm'] },
    { what: 'below the alarm threshold', pool: pool({ utilization: { tags: 0.89, connections: 0.1 } }), kinds: [] },
    { what: 'gateways over their allocation', pool: pool(), over: 3, kinds: ['gateways-over-allocation'] },
    { what: 'several at once, most serious first', pool: pool({ expiresInDays: 5, overCommitted: true }), over: 1, kinds: ['over-committed', 'license-expiring', 'gateways-over-allocation'] },
  ];
  it.each(cases)('$what', ({ pool: p, over, kinds }) => {
    const items = attentionItems([p], over ? [{ poolId: p.id, count: over, sample: [{ id: '00000000-0000-4000-8000-0000000000bb', name: 'g1' }] }] : [], NOW);
    expect(items.map((i) => i.kind)).toEqual(kinds);
  });

  it('says the days left and the gateways in words', () => {
    const [expiring, over] = attentionItems([pool({ name: 'berlin', expiresInDays: 10 })], [{ poolId: pool().id, count: 2, sample: [] }], NOW);
    expect(expiring!.message).toBe("berlin's license expires in 10 days (2026-12-11)");
    expect(over!.message).toBe('2 gateways use more than allocated in berlin');
  });
});
