import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { latency } from '../../neuronex-sim/http-util.js';
import { encodeSimLicense } from '../../neuronex-sim/license-terms.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/neuron-simulator.js';
import { Api, call, coreLogin, exLogin, tags } from './sim-client.js';

const DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const HW = 'I+kZidSifiyVSbz0/EgcM6AcefnlfR4IU19ZZUnTS18=';

describe('neuronex-sim license routes', () => {
  let sim: NeuronSimulator;
  let core: Api;
  let ex: Api;

  beforeAll(async () => {
    sim = await startNeuronSimulator({ hardwareToken: HW });
    core = new Api(`${sim.coreUrl}/api/v2`, await coreLogin(sim));
    ex = new Api(`${sim.exUrl}/api`, await exLogin(sim));
    await core.post('/node', { name: 'plc', plugin: 'Modbus TCP', params: {} });
    await core.post('/node', { name: 'app', plugin: 'MQTT', params: {} });
    await core.post('/tags', { node: 'plc', group: 'g', tags: tags('t', 20) });
  });

  afterAll(async () => {
    await sim.close();
  });

  it('GET /api/license: the free allowance with live usage and NeuronEX field names', async () => {
    const r = await ex.get('/license');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      licenseType: 'TRIAL',
      customerName: '',
      customerContact: '',
      startDate: expect.stringMatching(DATE),
      expiredDate: '2099-12-31 23:59:59',
      expired: false,
      totalTagCount: 30,
      usedTagCount: 20,
      enabledPlugins: [],
      hardwareToken: HW,
      ekuiperOn: true,
      officialEmail: '',
    });
    expect((await ex.get('/license/tag')).json).toEqual({ usedTagCount: 20 });
  });

  it('core GET /license and /hwtoken report the same license with §4.2 fields', async () => {
    const r = await core.get('/license');
    expect(r.json).toEqual({
      valid_since: expect.stringMatching(DATE),
      valid_until: '2099-12-31 23:59:59',
      valid: true,
      max_nodes: 30,
      max_node_tags: 30,
      used_nodes: 2,
      used_tags: 20,
      license_type: 'trial',
      error: 0,
      enabled_plugins: [],
      hardware_token: HW,
      object: '',
      email_address: '',
    });
    expect((await core.get('/hwtoken')).json).toEqual({ token: HW });
  });

  it('an ECP allocation below the tags in use is refused with 13008', async () => {
    const r = await ex.post('/license/tag', { license: encodeSimLicense({ totalTagCount: 10 }) });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 13008 });
    expect(((await ex.get('/license')).json as { licenseType: string }).licenseType).toBe('TRIAL');
  });

  it('POST /api/license/tag sets a VIRTUAL allocation that the core enforces; DELETE reverts to 30', async () => {
    const blob = encodeSimLicense({ totalTagCount: 50, maxNodes: 5, enabledPlugins: ['OPC UA'], expiredDate: '2030-01-01 00:00:00' });
    const r = await ex.post('/license/tag', { license: blob });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ licenseType: 'VIRTUAL', totalTagCount: 50, usedTagCount: 20, enabledPlugins: ['OPC UA'] });
    expect(r.json).toMatchObject({ expiredDate: '2030-01-01 00:00:00' });
    expect((await core.post('/tags', { node: 'plc', group: 'g', tags: tags('more', 30) })).json).toEqual({ index: 0, error: 0 });
    expect((await core.post('/node', { name: 'ua', plugin: 'OPC UA', params: {} })).json).toEqual({ error: 0 });
    const lic = (await core.get('/license')).json as Record<string, unknown>;
    expect(lic).toMatchObject({ license_type: 'virtual', max_node_tags: 50, used_tags: 50, max_nodes: 5, used_nodes: 3 });
    // Over the allocation now: the next tag is refused.
    expect((await core.post('/tags', { node: 'plc', group: 'g', tags: tags('x', 1) })).status).toBe(400);

    const del = await ex.del('/license/tag');
    expect(del.status).toBe(200);
    const back = (await ex.get('/license')).json as Record<string, unknown>;
    expect(back).toMatchObject({ licenseType: 'TRIAL', totalTagCount: 30, usedTagCount: 50, enabledPlugins: [] });
    expect(((await core.get('/license')).json as { error: number }).error).toBe(2405);
    await core.del('/node', { name: 'ua' });
    await core.del('/tags', { node: 'plc', group: 'g', tags: Array.from({ length: 30 }, (_, i) => `more${i}`) });
    expect(sim.state.tagCount()).toBe(20);
  });

  it('a floatlease-style lease (JWS with points/plugins/exp) is accepted on /api/license/floating', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { points: { tags: 40, connections: 8 }, plugins: ['BACnet/IP'], iat: now, nbf: now, exp: now + 300 };
    const jws = ['{"alg":"EdDSA"}', JSON.stringify(payload), 'signature'].map((p) => Buffer.from(p).toString('base64url')).join('.');
    const r = await ex.post('/license/floating', { license: jws });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ licenseType: 'VIRTUAL', totalTagCount: 40, enabledPlugins: ['BACnet/IP'], expired: false });
    expect(sim.state.license.maxNodes()).toBe(8);
  });

  it('a local upload while floating is refused with 13017; after DELETE it installs (type field)', async () => {
    const blob = encodeSimLicense({ totalTagCount: 1000, maxNodes: 100, customerName: 'ACME' });
    const blocked = await ex.post('/license', { license: blob });
    expect(blocked.status).toBe(400);
    expect(blocked.json).toMatchObject({ code: 13017 });
    await ex.del('/license/tag');
    const ok = await ex.post('/license', { license: blob });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ type: 'OFFCIAL', totalTagCount: 1000, customerName: 'ACME' });
    expect(ok.json).not.toHaveProperty('licenseType');
    const invalid = await ex.post('/license', { license: 'definitely not a license' });
    expect([invalid.status, (invalid.json as { code: number }).code]).toEqual([400, 13000]);
    const expired = await ex.post('/license', { license: encodeSimLicense({ totalTagCount: 5, expiredDate: '2001-01-01 00:00:00' }) });
    expect((expired.json as { code: number }).code).toBe(13003);
  });

  it('core POST /license: accepted below usage with 2404/2405 (HTTP 200), expired 2402, invalid 2401', async () => {
    const tagsShort = await core.post('/license', { license: encodeSimLicense({ totalTagCount: 10, maxNodes: 10 }) });
    expect([tagsShort.status, tagsShort.json]).toEqual([200, { error: 2405 }]);
    expect(sim.state.license.maxTags()).toBe(10);
    const nodesShort = await core.post('/license', { license: encodeSimLicense({ totalTagCount: 10, maxNodes: 1 }) });
    expect([nodesShort.status, nodesShort.json]).toEqual([200, { error: 2404 }]);
    expect(((await core.get('/license')).json as { error: number }).error).toBe(2404);
    const expired = await core.post('/license', { license: encodeSimLicense({ totalTagCount: 99, expiredDate: '2001-01-01 00:00:00' }) });
    expect([expired.status, expired.json]).toEqual([200, { error: 2402 }]);
    expect(sim.state.license.maxTags()).toBe(10);
    const invalid = await core.post('/license', { license: '%%%' });
    expect([invalid.status, invalid.json]).toEqual([400, { error: 2401 }]);
    expect((await core.post('/license', { license: encodeSimLicense({ totalTagCount: 30, maxNodes: 30 }) })).json).toEqual({ error: 0 });
  });

  it('an expired license blocks new nodes and tags with 2402 (HTTP 200)', async () => {
    let now = new Date();
    const clocked = await startNeuronSimulator({ now: () => now, licenseExpiry: new Date(now.getTime() + 60_000) });
    try {
      const api = new Api(`${clocked.coreUrl}/api/v2`, await coreLogin(clocked));
      expect((await api.post('/node', { name: 'a', plugin: 'Modbus TCP' })).json).toEqual({ error: 0 });
      now = new Date(now.getTime() + 120_000);
      const node = await api.post('/node', { name: 'b', plugin: 'Modbus TCP' });
      expect([node.status, node.json]).toEqual([200, { error: 2402 }]);
      const t = await api.post('/tags', { node: 'a', group: 'g', tags: tags('t', 1) });
      expect([t.status, t.json]).toEqual([200, { index: 0, error: 2402, results: [{ index: 0, error: 2402 }] }]);
      expect((await api.get('/license')).json).toMatchObject({ valid: false, error: 2402 });
    } finally {
      await clocked.close();
    }
  });

  it('adds the configured latency to every request', async () => {
    const slow = await startNeuronSimulator({ latencyMs: 150 });
    try {
      const t0 = performance.now();
      await call(`${slow.coreUrl}/api/v2/version`, 'GET');
      // A lower bound: holds however busy the machine is.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      await slow.close();
    }
  });

  it('reads the latency per request: a change applies to the next one, 0 adds no delay (fake timers)', async () => {
    vi.useFakeTimers();
    try {
      let ms = 150;
      const delay = latency(() => ms);
      const next = vi.fn();
      delay({} as Request, {} as Response, next);
      await vi.advanceTimersByTimeAsync(149);
      expect(next).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(next).toHaveBeenCalledTimes(1);
      ms = 0;
      delay({} as Request, {} as Response, next);
      expect(next).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
