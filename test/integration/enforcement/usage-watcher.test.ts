import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limits } from '../../../shared/protocol/limits.js';
import { NeuronClient, type GatewayUsage } from '../../../agent/neuronex/neuron-client.js';
import { UsageWatcher } from '../../../agent/neuronex/usage-watcher.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';

let sim: NeuronSimulator;
let neuron: NeuronClient;
beforeAll(async () => {
  sim = await startNeuronSimulator({ maxTags: 100_000, maxNodes: 1_000 });
  neuron = new NeuronClient({ apiBase: `${sim.coreUrl}/api/v2`, username: 'admin', password: '0000' });
  // Five south nodes created in order, each with a group of 10 tags, plus one north node.
  for (let i = 1; i <= 5; i++) {
    expect(sim.state.addNode({ name: `plc${i}`, plugin: 'Modbus TCP', params: { host: '127.0.0.1', port: 502 } })).toBe(0);
    expect(sim.state.addGroup(`plc${i}`, 'g', 1000)).toBe(0);
    const batch = Array.from({ length: 10 }, (_, t) => ({ name: `t${t}`, address: '1!400001', attribute: 1, type: 3 }));
    expect(sim.state.addTags(`plc${i}`, 'g', batch).error).toBe(0);
  }
  expect(sim.state.addNode({ name: 'cloud', plugin: 'MQTT', params: {} })).toBe(0);
});
afterAll(async () => {
  await sim?.close();
});

const running = () => sim.state.listNodes(1).filter((n) => n.running !== 4).map((n) => n.name);

describe('usage watcher', () => {
  it('reads usage the way Neuron counts it: tags over all groups, south + north nodes', async () => {
    const reports: GatewayUsage[] = [];
    const w = new UsageWatcher({ neuron, limits: () => ({ tags: 1000, connections: 100, plugins: [] }), policy: 'block-new', intervalMs: 60_000, onUsage: (u) => reports.push(u) });
    await w.tick();
    expect(reports[0]).toMatchObject({ tags: 50, connections: 6, north: 1 });
    expect(reports[0]!.south.map((n) => n.name)).toEqual(['plc1', 'plc2', 'plc3', 'plc4', 'plc5']);
  });

  it('stop-excess stops south nodes newest first until usage fits, and starts them again when points return', async () => {
    expect(running()).toEqual(['plc1', 'plc2', 'plc3', 'plc4', 'plc5']);
    let limits: Limits = { tags: 30, connections: 100, plugins: [] };
    const events: string[] = [];
    const w = new UsageWatcher({
      neuron,
      limits: () => limits,
      policy: 'stop-excess',
      intervalMs: 60_000,
      onUsage: () => {},
      onNodeControl: (n, a) => events.push(`${a} ${n}`),
    });
    await w.tick();
    expect(events).toEqual(['stopped plc5', 'stopped plc4']);
    expect(running()).toEqual(['plc1', 'plc2', 'plc3']);
    limits = { tags: 1000, connections: 3, plugins: [] }; // 1 north + 2 south fit
    await w.tick();
    expect(running()).toEqual(['plc1', 'plc2']);
    limits = { tags: 1000, connections: 100, plugins: [] };
    await w.tick();
    expect(running()).toEqual(['plc1', 'plc2', 'plc3', 'plc4', 'plc5']);
    expect(events.slice(-3)).toEqual(['started plc3', 'started plc4', 'started plc5']);
  });

  it('never starts a node an operator stopped', async () => {
    await neuron.nodeControl('plc2', 1);
    const w = new UsageWatcher({ neuron, limits: () => ({ tags: 1000, connections: 100, plugins: [] }), policy: 'stop-excess', intervalMs: 60_000, onUsage: () => {} });
    await w.tick();
    expect(running()).toEqual(['plc1', 'plc3', 'plc4', 'plc5']);
  });
});
