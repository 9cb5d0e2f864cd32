import { describe, expect, it } from 'vitest';
import { borrowRefusal, type BorrowAsk, type BorrowCaps } from '../../../server/leases/borrow-policy.js';

const caps: BorrowCaps = { maxSec: 3600, maxFraction: 0.25, perGateway: 1, capacity: { tags: 1000, connections: 40 } };
const ask = (o: Partial<BorrowAsk>): BorrowAsk => ({ durationSec: 600, points: { tags: 100, connections: 2 }, gatewayBorrows: 0, poolBorrowed: { tags: 0, connections: 0 }, ...o });

describe('borrowRefusal', () => {
  it.each([
    ['within every cap', caps, ask({}), undefined],
    ['borrowing off', { ...caps, maxSec: 0 }, ask({}), 'forbidden'],
    ['longer than the pool allows', caps, ask({ durationSec: 3601 }), 'validation-failed'],
    ['exactly the longest', caps, ask({ durationSec: 3600 }), undefined],
    ['one borrow per gateway already live', caps, ask({ gatewayBorrows: 1 }), 'conflict'],
    ['pool cap reached (150 + 100 > 250)', caps, ask({ poolBorrowed: { tags: 151, connections: 0 } }), 'conflict'],
    ['pool cap exactly met (150 + 100 = 250)', caps, ask({ poolBorrowed: { tags: 150, connections: 0 } }), undefined],
    ['connections cap (10 of 40)', caps, ask({ points: { tags: 0, connections: 11 } }), 'conflict'],
  ] as const)('%s', (_name, c, a, problem) => {
    expect(borrowRefusal(c, a)?.problem).toBe(problem);
  });
});
