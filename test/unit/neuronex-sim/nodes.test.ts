import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeuronSimulator } from '../../neuronex-sim/neuron-simulator.js';
import { Api, startWithClient } from './sim-client.js';

interface NodeList {
  nodes: { name: string; plugin: string; support_import_tags: boolean; tags: string }[];
}
interface StateList {
  states: { node: string; running: number; link: number }[];
}

describe('neuronex-sim nodes', () => {
  let sim: NeuronSimulator;
  let api: Api;
  let small: NeuronSimulator;
  let smallApi: Api;

  beforeAll(async () => {
    ({ sim, api } = await startWithClient({ enabledPlugins: ['OPC UA'] }));
    ({ sim: small, api: smallApi } = await startWithClient({ maxNodes: 2 }));
  });

  afterAll(async () => {
    await Promise.all([sim.close(), small.close()]);
  });

  it('requires type 1 or 2 on GET /node (1003 / 400)', async () => {
    for (const q of ['', '?type=3', '?type=x', '?type=']) {
      const r = await api.get(`/node${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json, q).toEqual({ error: 1003 });
    }
  });

  it('creates south and north nodes; the type follows the plugin; lists keep creation order', async () => {
    expect((await api.post('/node', { name: 'plc-b', plugin: 'Modbus TCP', params: { host: '10.0.0.1' } })).json).toEqual({ error: 0 });
    expect((await api.post('/node', { name: 'plc-a', plugin: 'Modbus RTU', tags: 'line1,hall2' })).json).toEqual({ error: 0 });
    expect((await api.post('/node', { name: 'cloud', plugin: 'MQTT', params: {} })).json).toEqual({ error: 0 });
    const south = (await api.get('/node?type=1')).json as NodeList;
    expect(south.nodes).toEqual([
      { name: 'plc-b', plugin: 'Modbus TCP', support_import_tags: true, tags: '' },
      { name: 'plc-a', plugin: 'Modbus RTU', support_import_tags: true, tags: 'line1,hall2' },
    ]);
    const north = (await api.get('/node?type=2')).json as NodeList;
    expect(north.nodes.map((n) => n.name)).toEqual(['cloud']);
    const filtered = (await api.get(`/node?type=1&plugin=${encodeURIComponent('Modbus RTU')}`)).json as NodeList;
    expect(filtered.nodes.map((n) => n.name)).toEqual(['plc-a']);
    expect(sim.state.nodeCount()).toBe(3);
    expect(sim.state.southNodeCount()).toBe(2);
    expect(sim.state.northNodeCount()).toBe(1);
  });

  it('refuses duplicates (2002 / 409), unknown plugins (2301 / 404), empty names (2015 / 400)', async () => {
    const dup = await api.post('/node', { name: 'plc-b', plugin: 'Modbus TCP' });
    expect([dup.status, dup.json]).toEqual([409, { error: 2002 }]);
    const unknown = await api.post('/node', { name: 'x', plugin: 'No Such Plugin' });
    expect([unknown.status, unknown.json]).toEqual([404, { error: 2301 }]);
    const empty = await api.post('/node', { name: '', plugin: 'Modbus TCP' });
    expect([empty.status, empty.json]).toEqual([400, { error: 2015 }]);
    const badBody = await api.post('/node', { name: 'x' });
    expect([badBody.status, badBody.json]).toEqual([400, { error: 1002 }]);
  });

  it('rejects the reserved names "monitor" and "DataStorage"', async () => {
    for (const name of ['monitor', 'DataStorage']) {
      const r = await api.post('/node', { name, plugin: 'Modbus TCP' });
      expect(r.json).toEqual({ error: 2002 });
      expect(r.status).toBe(409);
    }
    expect(sim.state.node('monitor')).toBeUndefined();
  });

  it('refuses a commercial plugin the license does not enable with 2403 and HTTP 200', async () => {
    const r = await api.post('/node', { name: 's7', plugin: 'Siemens S7 ISOTCP' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ error: 2403 });
    expect(sim.state.node('s7')).toBeUndefined();
    const enabled = await api.post('/node', { name: 'ua', plugin: 'OPC UA' });
    expect(enabled.json).toEqual({ error: 0 });
    expect((await api.del('/node', { name: 'ua' })).json).toEqual({ error: 0 });
  });

  it('counts south and north nodes together against the node limit: 2404 with HTTP 200', async () => {
    expect((await smallApi.post('/node', { name: 's1', plugin: 'Modbus TCP' })).json).toEqual({ error: 0 });
    expect((await smallApi.post('/node', { name: 'n1', plugin: 'eKuiper' })).json).toEqual({ error: 0 });
    const over = await smallApi.post('/node', { name: 's2', plugin: 'Modbus TCP' });
    expect(over.status).toBe(200);
    expect(over.json).toEqual({ error: 2404 });
    expect(small.state.nodeCount()).toBe(2);
    expect((await smallApi.del('/node', { name: 'n1' })).json).toEqual({ error: 0 });
    expect((await smallApi.post('/node', { name: 's2', plugin: 'Modbus TCP' })).json).toEqual({ error: 0 });
  });

  it('renames and deletes nodes, with 2003 / 404 and 2002 / 409', async () => {
    expect((await api.put('/node', { name: 'plc-a', new_name: 'plc-c' })).json).toEqual({ error: 0 });
    const south = (await api.get('/node?type=1')).json as NodeList;
    expect(south.nodes.map((n) => n.name)).toEqual(['plc-b', 'plc-c']);
    const missing = await api.put('/node', { name: 'nope', new_name: 'z' });
    expect([missing.status, missing.json]).toEqual([404, { error: 2003 }]);
    const taken = await api.put('/node', { name: 'plc-c', new_name: 'plc-b' });
    expect([taken.status, taken.json]).toEqual([409, { error: 2002 }]);
    const gone = await api.del('/node', { name: 'nope' });
    expect([gone.status, gone.json]).toEqual([404, { error: 2003 }]);
  });

  it('node ctl follows the adapter state machine (2006–2009 / 409)', async () => {
    const expectCtl = async (cmd: number, status: number, error: number): Promise<void> => {
      const r = await api.post('/node/ctl', { node: 'plc-c', cmd });
      expect([r.status, r.json]).toEqual([status, { error }]);
    };
    // plc-c was created without params: INIT.
    await expectCtl(0, 409, 2006);
    await expectCtl(1, 409, 2008);
    expect((await api.post('/node/setting', { node: 'plc-c', params: { host: '10.0.0.2' } })).json).toEqual({ error: 0 });
    await expectCtl(0, 409, 2007);
    await expectCtl(1, 200, 0);
    await expectCtl(1, 409, 2009);
    const stopped = (await api.get('/node/state?node=plc-c')).json as StateList;
    expect(stopped.states).toEqual([expect.objectContaining({ node: 'plc-c', running: 4, link: 0 })]);
    await expectCtl(0, 200, 0);
    const all = (await api.get('/node/state')).json as StateList;
    expect(all.states.map((s) => [s.node, s.running, s.link])).toEqual([
      ['plc-b', 3, 1],
      ['plc-c', 3, 1],
      ['cloud', 3, 1],
    ]);
    const bad = await api.post('/node/ctl', { node: 'plc-c', cmd: 7 });
    expect([bad.status, bad.json]).toEqual([400, { error: 1003 }]);
    const unknown = await api.post('/node/ctl', { node: 'ghost', cmd: 0 });
    expect([unknown.status, unknown.json]).toEqual([404, { error: 2003 }]);
    expect((await api.get('/node/state?node=ghost')).json).toEqual({ error: 2003 });
  });

  it('serves node settings and the plugin catalogue', async () => {
    expect((await api.get('/node/setting?node=plc-b')).json).toEqual({ node: 'plc-b', params: { host: '10.0.0.1' } });
    const plugins = (await api.get('/plugin')).json as { plugins: { name: string; node_type: number }[] };
    expect(plugins.plugins).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Modbus TCP', node_type: 1 }),
        expect.objectContaining({ name: 'MQTT', node_type: 2 }),
        expect.objectContaining({ name: 'KNXnet/IP', node_type: 1 }),
      ]),
    );
  });
});
