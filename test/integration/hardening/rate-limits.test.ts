import crypto from 'node:crypto';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config.js';
import { FailureCounter } from '../../../server/http/rate-limits.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../server/mqtt/embedded-broker.js';
import { ADMIN_TOKEN, randomHardwareId, startHarness, useHarness } from '../../helpers/api-harness.js';
import { rawRequest } from '../api/route-fixtures.js';

// Issue 15, finding 5.
// Default TRUST_PROXY (false): X-Forwarded-For is not believed.
const h = useHarness({ rateLimits: { enrollFailuresPerMinute: 10, authFailuresPerMinute: 10 } });

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('TRUST_PROXY=%s → %j', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it('refuses a value express would misread', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY/);
  });

  it('by default a client cannot pick its address with X-Forwarded-For: not for the limit, not in the audit trail', async () => {
    const code = await h.code(await h.pool(), 5);
    const hardwareId = randomHardwareId();
    const ok = await rawRequest(h, 'POST', '/api/v1/enroll', {
      body: JSON.stringify({ activationCode: code, hardwareId }),
      headers: { 'x-forwarded-for': '198.51.100.99' },
    });
    expect(ok.status).toBe(200);
    const rows = await h.api<{ items: { after: { source?: string } }[] }>('GET', `/api/v1/audit?action=gateway.enrolled&limit=1`);
    expect(rows.body.items[0]?.after.source).not.toContain('198.51.100.99');
    expect(rows.body.items[0]?.after.source).toMatch(/127\.0\.0\.1/);
  });
});

describe('counting', () => {
  it('a concurrent burst of bad enrollments gets exactly the limit through (counted before the handler)', async () => {
    const local = await startHarness({ rateLimits: { enrollFailuresPerMinute: 10, authFailuresPerMinute: 1000 } });
    try {
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          rawRequest(local, 'POST', '/api/v1/enroll', { body: JSON.stringify({ activationCode: `FLAC-0000-0000-0000-0000-${String(i).padStart(4, '0')}`, hardwareId: randomHardwareId() }) }),
        ),
      );
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s !== 429).length).toBe(10);
      expect(statuses.filter((s) => s === 429).length).toBe(30);
    } finally {
      await local.close();
    }
  });

  it("a valid admin token is never throttled by other clients' failures from the same address", async () => {
    const bad = Array.from({ length: 25 }, () => rawRequest(h, 'GET', '/api/v1/me', { token: `fl_${crypto.randomBytes(32).toString('base64url')}` }));
    const statuses = (await Promise.all(bad)).map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBe(10);
    expect(statuses.filter((s) => s === 429).length).toBe(15);
    expect((await rawRequest(h, 'GET', '/api/v1/me', { token: ADMIN_TOKEN })).status).toBe(200);
  });
});

describe('MQTT logins have a failure limit', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      loginFailures: new FailureCounter({ perMinute: 3, prefix: 'test' }),
      authorizer: {
        authenticate: async (u, p) => (u === 'good' && p === 'secret' ? { kind: 'controller' } : null),
        canPublish: () => true,
        canSubscribe: () => true,
      },
    });
  });
  afterAll(async () => {
    await broker?.close();
  });
  const login = async (password: string) => {
    const t0 = performance.now();
    try {
      const c = await mqtt.connectAsync(broker.url, { username: 'good', password, reconnectPeriod: 0, clientId: `t-${crypto.randomUUID()}` });
      await c.endAsync(true);
      return { ok: true, ms: performance.now() - t0 };
    } catch {
      return { ok: false, ms: performance.now() - t0 };
    }
  };

  it('past the limit wrong passwords are answered only after a delay; the right one still logs in', async () => {
    for (let i = 0; i < 3; i++) expect((await login('wrong')).ok).toBe(false);
    const slowed = await login('wrong');
    expect(slowed.ok).toBe(false);
    // A lower bound: holds however busy the machine is.
    expect(slowed.ms).toBeGreaterThanOrEqual(900);
    expect((await login('secret')).ok).toBe(true);
  });
});
