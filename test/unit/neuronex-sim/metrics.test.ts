import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeuronSimulator } from '../../neuronex-sim/neuron-simulator.js';
import { Api, call, startWithClient, tags } from './sim-client.js';

/** Checks the exposition format and returns the samples as `name{labels}` → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  const finished = new Set<string>();
  let current = '';
  for (const line of text.trimEnd().split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const name = meta[2] ?? '';
      if (meta[1] === 'TYPE') {
        expect(['gauge', 'counter'], line).toContain(meta[3]);
        expect(typed.has(name), `family ${name} declared twice`).toBe(false);
        typed.add(name);
      }
      if (name !== current) {
        if (current !== '') finished.add(current);
        current = name;
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$/.exec(line);
    expect(sample, `bad sample line: ${line}`).not.toBeNull();
    const name = sample?.[1] ?? '';
    expect(name, `sample outside its family: ${line}`).toBe(current);
    expect(finished.has(name)).toBe(false);
    samples.set(`${name}${sample?.[2] ?? ''}`, Number(sample?.[3]));
  }
  return samples;
}

describe('neuronex-sim metrics', () => {
  let sim: NeuronSimulator;
  let api: Api;
  const metrics = (query: string): ReturnType<typeof call> => call(`${sim.coreUrl}/api/v2/metrics${query}`, 'GET');

  beforeAll(async () => {
    ({ sim, api } = await startWithClient({ maxTags: 100 }));
    await api.post('/node', { name: 'plc1', plugin: 'Modbus TCP', params: {} });
    await api.post('/node', { name: 'plc2', plugin: 'Modbus RTU' });
    await api.post('/node', { name: 'mqtt', plugin: 'MQTT', params: {} });
    await api.post('/tags', { node: 'plc1', group: 'g1', tags: tags('a', 3) });
    await api.post('/tags', { node: 'plc1', group: 'g2', tags: tags('b', 4) });
    await api.post('/tags', { node: 'plc2', group: 'g1', tags: tags('c', 5) });
  });

  afterAll(async () => {
    await sim.close();
  });

  it('global: license and node gauges as valid Prometheus text', async () => {
    const r = await metrics('?category=global');
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/plain/);
    const s = parseExposition(r.text);
    expect(s.get('license_max_tags')).toBe(100);
    expect(s.get('license_used_tags')).toBe(12);
    expect(s.get('south_nodes_total')).toBe(2);
    expect(s.get('north_nodes_total')).toBe(1);
    expect(s.get('south_running_nodes_total')).toBe(1);
    expect(s.get('south_disconnected_nodes_total')).toBe(1);
    expect(s.get('north_running_nodes_total')).toBe(1);
    expect(s.has('uptime_seconds')).toBe(true);
    expect(s.has('node_type{node="plc1"}')).toBe(false);
  });

  it('driver: per node and per group tag counts', async () => {
    const s = parseExposition((await metrics('?category=driver')).text);
    expect(s.get('node_type{node="plc1"}')).toBe(1);
    expect(s.get('tags_total{node="plc1"}')).toBe(7);
    expect(s.get('tags_total{node="plc2"}')).toBe(5);
    expect(s.get('group_tags_total{node="plc1",group="g1"}')).toBe(3);
    expect(s.get('group_tags_total{node="plc1",group="g2"}')).toBe(4);
    expect(s.get('running_state{node="plc2"}')).toBe(1);
    expect(s.get('link_state{node="plc1"}')).toBe(1);
    expect(s.has('node_type{node="mqtt"}')).toBe(false);
    expect(s.has('license_max_tags')).toBe(false);
  });

  it('app: north nodes only; no category: everything', async () => {
    const app = parseExposition((await metrics('?category=app')).text);
    expect(app.get('node_type{node="mqtt"}')).toBe(2);
    expect(app.has('node_type{node="plc1"}')).toBe(false);
    const all = parseExposition((await metrics('')).text);
    expect(all.get('license_used_tags')).toBe(12);
    expect(all.get('node_type{node="mqtt"}')).toBe(2);
    expect(all.get('tags_total{node="plc1"}')).toBe(7);
  });

  it('one node; bad category 400; unknown node 404; node with global 400', async () => {
    const one = parseExposition((await metrics('?category=driver&node=plc2')).text);
    expect([...one.keys()].every((k) => k.includes('node="plc2"'))).toBe(true);
    expect(one.get('tags_total{node="plc2"}')).toBe(5);
    expect((await metrics('?category=bogus')).status).toBe(400);
    expect((await metrics('?category=driver&node=ghost')).status).toBe(404);
    expect((await metrics('?category=driver&node=mqtt')).status).toBe(404);
    expect((await metrics('?category=global&node=plc1')).status).toBe(400);
  });

  it('the same usage through /group, /node and /metrics, also via NeuronEX /api/neuron', async () => {
    const groups = (await api.get('/group')).json as { groups: { tag_count: number }[] };
    const south = (await api.get('/node?type=1')).json as { nodes: unknown[] };
    const north = (await api.get('/node?type=2')).json as { nodes: unknown[] };
    const s = parseExposition((await metrics('?category=global')).text);
    expect(groups.groups.reduce((n, g) => n + g.tag_count, 0)).toBe(s.get('license_used_tags'));
    expect(south.nodes.length).toBe(s.get('south_nodes_total'));
    expect(north.nodes.length).toBe(s.get('north_nodes_total'));
    const viaEx = await call(`${sim.exUrl}/api/neuron/metrics?category=global`, 'GET');
    expect(parseExposition(viaEx.text).get('license_used_tags')).toBe(12);
  });

  it('escapes label values', async () => {
    await api.post('/node', { name: 'we"ird\\name', plugin: 'Modbus TCP' });
    const r = await metrics('?category=driver');
    expect(r.text).toContain('node_type{node="we\\"ird\\\\name"} 1');
    parseExposition(r.text);
    await api.del('/node', { name: 'we"ird\\name' });
  });
});
