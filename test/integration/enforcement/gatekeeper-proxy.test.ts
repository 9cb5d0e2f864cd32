import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIAL_ALLOWANCE, type Limits } from '../../../shared/protocol/limits.js';
import { startGatekeeperProxy, type GatekeeperProxy } from '../../../agent/neuronex/gatekeeper-proxy.js';
import { NeuronClient } from '../../../agent/neuronex/neuron-client.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';

let sim: NeuronSimulator;
let proxy: GatekeeperProxy;
let limits: Limits = { tags: 100, connections: 10, plugins: ['OPC UA'] };
let token: string;
const refused: string[] = [];

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${proxy.url}/api/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const tag = (name: string) => ({ name, address: '1!400001', attribute: 1, type: 3 });
const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => tag(`${prefix}${i}`));

beforeAll(async () => {
  // The gateway's own license is generous: the proxy, not the gateway, enforces the lease.
  sim = await startNeuronSimulator({ maxTags: 100_000, maxNodes: 1_000, enabledPlugins: ['OPC UA', 'Siemens S7 ISOTCP', 'BACnet/IP'] });
  token = await sim.coreToken();
  const neuron = new NeuronClient({ apiBase: `${sim.coreUrl}/api/v2`, username: 'admin', password: '0000' });
  proxy = await startGatekeeperProxy({
    target: sim.coreUrl,
    host: '127.0.0.1',
    port: 0,
    limits: () => limits,
    neuron,
    onRefusal: (r) => refused.push(r),
  });
  expect((await call('POST', '/node', { name: 'plc1', plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
  expect((await call('POST', '/group', { name: 'g1', node: 'plc1', interval: 1000 })).body).toEqual({ error: 0 });
});
afterAll(async () => {
  await proxy?.close();
  await sim?.close();
});

describe('gatekeeping proxy in front of the gateway API', () => {
  it('with 100 tags allocated and 90 in use, refuses a batch of 20 whole and accepts a batch of 10', async () => {
    expect((await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('a', 90) })).body).toMatchObject({ error: 0 });
    expect(sim.state.tagCount()).toBe(90);
    const twenty = await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('b', 20) });
    expect(twenty.status).toBe(400);
    expect(twenty.body).toEqual({ index: 0, error: 2405, results: [{ index: 0, error: 2405 }] });
    expect(sim.state.tagCount()).toBe(90);
    expect((await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('c', 10) })).body).toMatchObject({ error: 0 });
    expect(sim.state.tagCount()).toBe(100);
    // /gtags counts every group of the batch.
    const g = await call('POST', '/gtags', { node: 'plc1', groups: [{ group: 'g2', interval: 1000, tags: tags('d', 1) }] });
    expect(g.status).toBe(400);
    expect(g.body).toEqual({ index: 0, error: 2405 });
  });

  it('from 95 in use, 20 concurrent single-tag batches leave exactly 100 in use', async () => {
    await call('DELETE', '/tags', { node: 'plc1', group: 'g1', tags: ['c5', 'c6', 'c7', 'c8', 'c9'] });
    expect(sim.state.tagCount()).toBe(95);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call('POST', '/tags', { node: 'plc1', group: 'g1', tags: [tag(`e${i}`)] })));
    expect(results.filter((r) => r.body.error === 0)).toHaveLength(5);
    expect(results.filter((r) => r.status === 400 && r.body.error === 2405)).toHaveLength(15);
    expect(sim.state.tagCount()).toBe(100);
  });

  it('refuses a node whose plugin the lease does not enable with 2403, over the connection limit with 2404', async () => {
    const s7 = await call('POST', '/node', { name: 's7', plugin: 'Siemens S7 ISOTCP' });
    expect(s7).toEqual({ status: 200, body: { error: 2403 } });
    expect((await call('POST', '/node', { name: 'opc', plugin: 'OPC UA' })).body).toEqual({ error: 0 });
    limits = { ...TRIAL_ALLOWANCE };
    // Trial allowance: 30 connections; 2 exist, so 28 more fit and the 31st is refused.
    for (let i = 0; i < 28; i++) expect((await call('POST', '/node', { name: `m${i}`, plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
    expect(sim.state.nodeCount()).toBe(30);
    const thirtyFirst = await call('POST', '/node', { name: 'm-31', plugin: 'Modbus TCP' });
    expect(thirtyFirst).toEqual({ status: 200, body: { error: 2404 } });
    expect(sim.state.nodeCount()).toBe(30);
    // On the trial allowance commercial plugins run (NeuronEX's free allowance), but the 31st node still not.
    expect((await call('POST', '/node', { name: 'opc2', plugin: 'OPC UA' })).body).toEqual({ error: 2404 });
    expect(refused).toEqual(expect.arrayContaining(['tooManyTags', 'pluginNotLicensed', 'tooManyNodes']));
  });

  it('undoes an import that would go over the tag limit', async () => {
    limits = { tags: 105, connections: 100, plugins: ['OPC UA'] };
    await call('DELETE', '/node', { name: 'opc' }); // frees nothing tag-wise, keeps the scene simple
    expect((await call('POST', '/node', { name: 'opc3', plugin: 'OPC UA' })).body).toEqual({ error: 0 });
    const before = sim.state.tagCount();
    const r = await call('POST', '/tags/import', { node: 'opc3' }); // OPC UA imports 20 built-in tags
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 2405 });
    expect(sim.state.tagCount()).toBe(before);
    limits = { tags: 1_000, connections: 100, plugins: ['OPC UA'] };
    expect((await call('POST', '/tags/import', { node: 'opc3' })).status).toBe(200);
    expect(sim.state.tagCount()).toBe(before + 20);
  });

  it('passes everything else through untouched', async () => {
    const nodes = await call('GET', '/node?type=1');
    expect(nodes.status).toBe(200);
    expect((nodes.body.nodes as unknown[]).length).toBe(sim.state.southNodeCount());
    const bad = await call('GET', '/node');
    expect(bad.status).toBe(400);
  });
});
