import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/neuron-simulator.js';
import { call, coreLogin, exLogin } from './sim-client.js';

describe('neuronex-sim authentication', () => {
  let sim: NeuronSimulator;
  let other: NeuronSimulator;
  let open: NeuronSimulator;

  beforeAll(async () => {
    [sim, other, open] = await Promise.all([
      startNeuronSimulator(),
      startNeuronSimulator(),
      startNeuronSimulator({ disableAuth: true, username: 'ops', password: 'secret' }),
    ]);
  });

  afterAll(async () => {
    vi.useRealTimers();
    await Promise.all([sim.close(), other.close(), open.close()]);
  });

  it('listens on 127.0.0.1 with two distinct ports', () => {
    const core = new URL(sim.coreUrl);
    const ex = new URL(sim.exUrl);
    expect(core.hostname).toBe('127.0.0.1');
    expect(ex.hostname).toBe('127.0.0.1');
    expect(core.port).not.toBe(ex.port);
  });

  it('logs in with {name, pass} and issues a one-hour token with Neuron claims', async () => {
    const claims = decodeJwt(await coreLogin(sim));
    expect(claims.iss).toBe('neuron');
    expect(claims.aud).toBe('neuron');
    expect(claims['user']).toBe('admin');
    expect(claims['bodyEncode']).toBe(0);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
  });

  it('refuses wrong credentials with 1009 / 401 and a bad body with 1002 / 400', async () => {
    const wrong = await call(`${sim.coreUrl}/api/v2/login`, 'POST', { name: 'admin', pass: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ error: 1009 });
    const broken = await fetch(`${sim.coreUrl}/api/v2/login`, { method: 'POST', body: '{not json' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ error: 1002 });
  });

  it('needs a token on core routes: missing 1004 / 401, undecodable 1005 / 401', async () => {
    const missing = await call(`${sim.coreUrl}/api/v2/node?type=1`, 'GET');
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ error: 1004 });
    const garbage = await call(`${sim.coreUrl}/api/v2/node?type=1`, 'GET', undefined, 'not-a-jwt');
    expect(garbage.status).toBe(401);
    expect(garbage.json).toEqual({ error: 1005 });
  });

  it('refuses a token signed by another gateway with 1007 / 403', async () => {
    const foreign = await coreLogin(other);
    const r = await call(`${sim.coreUrl}/api/v2/node?type=1`, 'GET', undefined, foreign);
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ error: 1007 });
  });

  it('refuses an expired token with 1006 / 403', async () => {
    const token = await coreLogin(sim);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3601_000);
    try {
      const r = await call(`${sim.coreUrl}/api/v2/node?type=1`, 'GET', undefined, token);
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ error: 1006 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('serves /metrics and /version without a token', async () => {
    const metrics = await call(`${sim.coreUrl}/api/v2/metrics`, 'GET');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('license_max_tags 30');
    const version = await call(`${sim.coreUrl}/api/v2/version`, 'GET');
    expect(version.status).toBe(200);
    expect(version.json).toMatchObject({ version: expect.any(String), revision: expect.any(String), build_date: expect.any(String) });
  });

  it('NeuronEX login takes {name, password} and returns {token, role}', async () => {
    const r = await call(`${sim.exUrl}/api/login`, 'POST', { name: 'admin', password: '0000' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token: expect.any(String), role: 'admin' });
    const claims = decodeJwt((r.json as { token: string }).token);
    expect(claims.aud).toBe('neuronex');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(24 * 3600);
    const bad = await call(`${sim.exUrl}/api/login`, 'POST', { name: 'admin', password: 'x' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ code: 1009 });
  });

  it('NeuronEX license routes need a token; its token also works through /api/neuron', async () => {
    const anon = await call(`${sim.exUrl}/api/license`, 'GET');
    expect(anon.status).toBe(401);
    expect(anon.json).toMatchObject({ code: 1004 });
    const token = await exLogin(sim);
    const proxied = await call(`${sim.exUrl}/api/neuron/node?type=1`, 'GET', undefined, token);
    expect(proxied.status).toBe(200);
    expect(proxied.json).toEqual({ nodes: [] });
    const proxiedAnon = await call(`${sim.exUrl}/api/neuron/node?type=1`, 'GET');
    expect(proxiedAnon.json).toEqual({ error: 1004 });
  });

  it('with disableAuth needs no token, and honours configured credentials', async () => {
    const r = await call(`${open.coreUrl}/api/v2/node?type=1`, 'GET');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ nodes: [] });
    const lic = await call(`${open.exUrl}/api/license`, 'GET');
    expect(lic.status).toBe(200);
    const login = await call(`${open.coreUrl}/api/v2/login`, 'POST', { name: 'ops', pass: 'secret' });
    expect(login.status).toBe(200);
    const oldDefault = await call(`${open.coreUrl}/api/v2/login`, 'POST', { name: 'admin', pass: '0000' });
    expect(oldDefault.status).toBe(401);
  });
});
