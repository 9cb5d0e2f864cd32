import { describe, expect, it } from 'vitest';
import { Router } from 'express';
import { licenseDocument, neuronDate } from '../../../agent/http/local-api.js';
import type { AgentView } from '../../../agent/local/agent-view.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { GATEWAY_ID, HARDWARE_ID, localApiPerTest } from './fakes.js';

const floating: AgentView = {
  gatewayId: GATEWAY_ID,
  licenseType: 'FLOATING',
  limits: { tags: 120, connections: 7, plugins: ['OPC UA'] },
  usage: { tags: 40, connections: 3 },
  issuedAt: Date.UTC(2026, 10, 28, 9, 5, 7) / 1000,
  expiresAt: Date.UTC(2026, 10, 28, 9, 10, 7) / 1000,
  licenseIssuedAt: Date.UTC(2026, 0, 1) / 1000,
  licenseExpiresAt: Date.UTC(2027, 0, 1) / 1000,
  customer: 'ACME Plant 3',
  secondsLeft: 299,
  hardwareId: HARDWARE_ID,
  controllerReachable: true,
  transport: 'mqtt',
  seq: 12,
};
const trial: AgentView = { ...floating, licenseType: 'TRIAL', limits: TRIAL_ALLOWANCE, usage: undefined, issuedAt: undefined, expiresAt: undefined, licenseIssuedAt: undefined, licenseExpiresAt: undefined, customer: undefined, secondsLeft: 0, controllerReachable: false, transport: undefined, seq: undefined, gatewayId: undefined };

const startApi = localApiPerTest();

describe('local API', () => {
  it('formats dates as NeuronEX does (UTC "YYYY-MM-DD hh:mm:ss")', () => {
    expect(neuronDate(Date.UTC(2027, 0, 2, 3, 4, 5) / 1000)).toBe('2027-01-02 03:04:05');
    expect(neuronDate(undefined)).toBe('');
  });

  it('GET /api/license: NeuronEX field names and values, the pool license’s dates, the lease window apart', async () => {
    let view = floating;
    const api = await startApi({ view: () => view });
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${api.url}/api/license`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      licenseType: 'VIRTUAL',
      mode: 'FLOATING',
      customerName: 'ACME Plant 3',
      customerContact: '',
      officialEmail: '',
      startDate: '2026-01-01 00:00:00',
      expiredDate: '2027-01-01 00:00:00',
      expired: false,
      totalTagCount: 120,
      usedTagCount: 40,
      enabledPlugins: ['OPC UA'],
      allCommercialPluginsExceptCnc: false,
      hardwareToken: HARDWARE_ID,
      ekuiperOn: true,
      maxConnections: 7,
      usedConnections: 3,
      overUse: { tags: false, connections: false },
      overUsed: false,
      leaseIssuedAt: '2026-11-28 09:05:07',
      leaseExpiresAt: '2026-11-28 09:10:07',
      leaseSecondsLeft: 299,
      leaseOffline: false,
      leaseBorrowed: false,
      borrowedUntil: '',
      controllerReachable: true,
      transport: 'mqtt',
      gatewayId: GATEWAY_ID,
      seq: 12,
    });
    view = trial;
    expect(await (await fetch(`${api.url}/api/license`)).json()).toMatchObject({
      licenseType: 'TRIAL',
      startDate: '',
      expiredDate: '',
      expired: false,
      totalTagCount: 30,
      maxConnections: 30,
      usedTagCount: 0,
      enabledPlugins: [],
      allCommercialPluginsExceptCnc: true,
      ekuiperOn: false,
      transport: null,
      gatewayId: null,
    });
    // Over-use (45 tags on a 30-tag allowance) is flagged.
    view = { ...trial, usage: { tags: 45, connections: 2 } };
    expect(await (await fetch(`${api.url}/api/license`)).json()).toMatchObject({ usedTagCount: 45, totalTagCount: 30, overUse: { tags: true, connections: false }, overUsed: true });
  });

  it('a lapsed lease shows its dates with expired: true on the trial allowance', () => {
    const doc = licenseDocument({ ...floating, licenseType: 'TRIAL', limits: TRIAL_ALLOWANCE, secondsLeft: 0 });
    expect(doc).toMatchObject({ licenseType: 'TRIAL', expired: true, expiredDate: '2027-01-01 00:00:00', leaseExpiresAt: '2026-11-28 09:10:07', totalTagCount: 30 });
  });

  it('serves /healthz, extra routers, JSON 404s and JSON 400s', async () => {
    const extra = Router().post('/echo', (req, res) => void res.json(req.body));
    const api = await startApi({ view: () => trial, routers: [extra] });
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const echo = await fetch(`${api.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await echo.json()).toEqual({ a: 1 });
    const missing = await fetch(`${api.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not-found' });
    const bad = await fetch(`${api.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad-request' });
  });
});
