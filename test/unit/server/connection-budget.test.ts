import { describe, expect, it } from 'vitest';
import { connectionBudget, DEFAULT_POOL_MAX, LANES, MIN_POOL_MAX, MIN_RESERVE } from '../../../server/db/connection-budget.js';
import { loadConfig } from '../../../server/config.js';

const laned = Object.values(LANES).reduce((a, b) => a + b, 0);

describe('connection budget', () => {
  it('needs every lane plus the reserve', () => {
    expect(MIN_POOL_MAX).toBe(laned + MIN_RESERVE);
    expect(LANES.adminWrites).toBeLessThan(MIN_POOL_MAX - MIN_RESERVE);
  });

  it.each([
    [MIN_POOL_MAX, MIN_RESERVE],
    [DEFAULT_POOL_MAX, DEFAULT_POOL_MAX - laned],
    [40, 40 - laned],
  ])('pool %i leaves a reserve of %i', (poolMax, reserve) => {
    const b = connectionBudget(poolMax);
    expect(b.reserve).toBe(reserve);
    expect(Object.values(b.lanes).reduce((a, x) => a + x, 0) + b.reserve).toBe(poolMax);
  });

  it.each([MIN_POOL_MAX - 1, 10, 0, 15.5])('refuses pool %s', (poolMax) => {
    expect(() => connectionBudget(poolMax)).toThrow(RangeError);
  });

  it('the default configuration fits the budget', () => {
    expect(connectionBudget(loadConfig({}).database.poolMax).poolMax).toBe(DEFAULT_POOL_MAX);
  });
});
