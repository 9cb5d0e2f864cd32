import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NeuronSimulator } from '../../neuronex-sim/neuron-simulator.js';
import { Api, startWithClient, tag, tags } from './sim-client.js';

interface GroupsAll {
  groups: { driver: string; group: string; tag_count: number; interval: number }[];
}

describe('neuronex-sim groups and tags (30-tag free allowance)', () => {
  let sim: NeuronSimulator;
  let api: Api;

  beforeAll(async () => {
    ({ sim, api } = await startWithClient({ enabledPlugins: ['OPC UA'] }));
  });

  afterAll(async () => {
    await sim.close();
  });

  // Each test starts from the same two drivers and one app, without tags.
  beforeEach(async () => {
    for (const n of sim.state.listNodes()) await api.del('/node', { name: n.name });
    await api.post('/node', { name: 'mb', plugin: 'Modbus TCP', params: {} });
    await api.post('/node', { name: 'ua', plugin: 'OPC UA', params: {} });
    await api.post('/node', { name: 'up', plugin: 'MQTT', params: {} });
    expect(sim.state.tagCount()).toBe(0);
  });

  it('adds a valid batch, creating the group; GET needs node and group and does not paginate', async () => {
    const r = await api.post('/tags', { node: 'mb', group: 'g1', tags: tags('t', 25) });
    expect([r.status, r.json]).toEqual([200, { index: 0, error: 0 }]);
    const listed = (await api.get('/tags?node=mb&group=g1')).json as { tags: { name: string }[] };
    expect(listed.tags).toHaveLength(25);
    expect(listed.tags[0]).toEqual({
      name: 't0',
      type: 3,
      address: expect.any(String),
      attribute: 1,
      description: '',
      precision: 0,
      decimal: 0,
      bias: 0,
      unit: '',
    });
    expect((await api.get('/tags?node=mb')).json).toEqual({ error: 1003 });
    expect((await api.get('/tags?group=g1')).status).toBe(400);
    expect((await api.get('/tags?node=mb&group=nope')).json).toEqual({ error: 2106 });
    expect(sim.state.tagCount()).toBe(25);
  });

  it('refuses the whole batch when any tag is invalid, listing every failing tag', async () => {
    const batch = [
      tag('ok1'),
      tag('bad-type', { type: 99 }),
      tag('ok2'),
      tag('ok1'),
      tag('bad-attr', { attribute: 12 }),
      tag('no-address', { address: '' }),
    ];
    const r = await api.post('/tags', { node: 'mb', group: 'g1', tags: batch });
    expect(r.json).toEqual({
      index: 5,
      error: 2205,
      results: [
        { index: 1, error: 2204 },
        { index: 3, error: 2202 },
        { index: 4, error: 2203 },
        { index: 5, error: 2205 },
      ],
    });
    expect(r.status).toBe(400);
    expect(sim.state.tagCount()).toBe(0);
    expect((await api.get('/group?node=mb')).json).toEqual({ groups: [] });
  });

  it('checks the license on the whole validated batch: 2405 / 400 with the core body, nothing added', async () => {
    expect((await api.post('/tags', { node: 'mb', group: 'g1', tags: tags('a', 20) })).json).toEqual({ index: 0, error: 0 });
    const over = await api.post('/tags', { node: 'ua', group: 'g2', tags: tags('b', 11) });
    expect(over.status).toBe(400);
    expect(over.json).toEqual({ index: 0, error: 2405, results: [{ index: 0, error: 2405 }] });
    expect(sim.state.tagCount()).toBe(20);
    const exact = await api.post('/tags', { node: 'ua', group: 'g2', tags: tags('b', 10) });
    expect(exact.json).toEqual({ index: 0, error: 0 });
    expect(sim.state.tagCount()).toBe(30);
    const one = await api.post('/tags', { node: 'mb', group: 'g1', tags: [tag('last')] });
    expect([one.status, (one.json as { error: number }).error]).toEqual([400, 2405]);
  });

  it('deleting tags frees their count', async () => {
    await api.post('/tags', { node: 'mb', group: 'g1', tags: tags('a', 30) });
    expect((await api.post('/tags', { node: 'mb', group: 'g1', tags: [tag('x')] })).status).toBe(400);
    const del = await api.del('/tags', { node: 'mb', group: 'g1', tags: ['a0', 'a1'] });
    expect(del.json).toEqual({ error: 0 });
    expect(sim.state.tagCount()).toBe(28);
    expect((await api.post('/tags', { node: 'mb', group: 'g1', tags: [tag('x'), tag('y')] })).json).toEqual({ index: 0, error: 0 });
    const missing = await api.del('/tags', { node: 'mb', group: 'g1', tags: ['nope'] });
    expect([missing.status, missing.json]).toEqual([404, { error: 2201 }]);
  });

  it('updates tags in place without changing the count', async () => {
    await api.post('/tags', { node: 'mb', group: 'g1', tags: [tag('a')] });
    const r = await api.put('/tags', { node: 'mb', group: 'g1', tags: [tag('a', { address: '1!400099', description: 'pump' })] });
    expect(r.json).toEqual({ index: 1, error: 0 });
    const listed = (await api.get('/tags?node=mb&group=g1&name=a')).json as { tags: { address: string; description: string }[] };
    expect(listed.tags).toEqual([expect.objectContaining({ address: '1!400099', description: 'pump' })]);
    const missing = await api.put('/tags', { node: 'mb', group: 'g1', tags: [tag('zz')] });
    expect([missing.status, missing.json]).toEqual([404, { index: 0, error: 2201 }]);
    expect(sim.state.tagCount()).toBe(1);
  });

  it('groups: CRUD, tag_count, listing all drivers, deletion frees tags, none on north nodes', async () => {
    expect((await api.post('/group', { name: 'fast', node: 'mb', interval: 500 })).json).toEqual({ error: 0 });
    expect((await api.post('/group', { name: 'fast', node: 'mb', interval: 500 })).json).toEqual({ error: 2104 });
    expect((await api.post('/group', { name: 'tiny', node: 'mb', interval: 50 })).json).toEqual({ error: 2105 });
    const north = await api.post('/group', { name: 'g', node: 'up', interval: 1000 });
    expect([north.status, north.json]).toEqual([409, { error: 2103 }]);
    await api.post('/tags', { node: 'mb', group: 'fast', tags: tags('f', 4) });
    await api.post('/tags', { node: 'ua', group: 'slow', tags: tags('s', 6) });
    expect((await api.put('/group', { node: 'mb', group: 'fast', new_name: 'quick', interval: 200 })).json).toEqual({ error: 0 });
    expect((await api.get('/group?node=mb')).json).toEqual({ groups: [{ name: 'quick', interval: 200, tag_count: 4 }] });
    const all = (await api.get('/group')).json as GroupsAll;
    expect(all.groups).toEqual([
      { driver: 'mb', group: 'quick', tag_count: 4, interval: 200 },
      { driver: 'ua', group: 'slow', tag_count: 6, interval: 100 },
    ]);
    expect(all.groups.reduce((s, g) => s + g.tag_count, 0)).toBe(sim.state.tagCount());
    expect((await api.del('/group', { node: 'ua', group: 'slow' })).json).toEqual({ error: 0 });
    expect(sim.state.tagCount()).toBe(4);
    const gone = await api.del('/group', { node: 'ua', group: 'slow' });
    expect([gone.status, gone.json]).toEqual([404, { error: 2106 }]);
    expect((await api.get('/group?node=ghost')).json).toEqual({ error: 2003 });
  });

  it('deleting a node frees its tags', async () => {
    await api.post('/tags', { node: 'ua', group: 'g', tags: tags('x', 12) });
    expect(sim.state.tagCount()).toBe(12);
    await api.del('/node', { name: 'ua' });
    expect(sim.state.tagCount()).toBe(0);
  });

  it('gtags: several groups at once, all or nothing, one license check', async () => {
    const ok = await api.post('/gtags', {
      node: 'mb',
      groups: [
        { group: 'a', interval: 1000, tags: tags('a', 5) },
        { group: 'b', interval: 2000, tags: tags('b', 5) },
      ],
    });
    expect([ok.status, ok.json]).toEqual([200, { index: 10, error: 0 }]);
    expect((await api.get('/group?node=mb')).json).toEqual({
      groups: [
        { name: 'a', interval: 1000, tag_count: 5 },
        { name: 'b', interval: 2000, tag_count: 5 },
      ],
    });
    const over = await api.post('/gtags', {
      node: 'ua',
      groups: [
        { group: 'c', interval: 1000, tags: tags('c', 15) },
        { group: 'd', interval: 1000, tags: tags('d', 6) },
      ],
    });
    expect([over.status, over.json]).toEqual([400, { index: 0, error: 2405 }]);
    const invalid = await api.post('/gtags', {
      node: 'ua',
      groups: [
        { group: 'c', interval: 1000, tags: tags('c', 2) },
        { group: 'd', interval: 1000, tags: [tag('dup'), tag('dup')] },
      ],
    });
    expect([invalid.status, invalid.json]).toEqual([409, { index: 0, error: 2202 }]);
    expect(sim.state.tagCount()).toBe(10);
    expect((await api.get('/group?node=ua')).json).toEqual({ groups: [] });
  });

  it('import adds the plugin built-in tags, counted and license-checked like a batch', async () => {
    const mb = await api.post('/tags/import', { node: 'mb' });
    expect([mb.status, mb.json]).toEqual([200, { index: 10, error: 0 }]);
    expect((await api.get('/group?node=mb')).json).toEqual({ groups: [{ name: 'builtin', interval: 1000, tag_count: 10 }] });
    expect(sim.state.tagCount()).toBe(10);
    // OPC UA brings 20 more: exactly 30.
    expect((await api.post('/tags/import', { node: 'ua' })).json).toEqual({ index: 20, error: 0 });
    await api.del('/tags', { node: 'ua', group: 'builtin', tags: ['opcua_builtin_1'] });
    const over = await api.post('/tags/import', { node: 'mb' });
    expect(over.status).toBe(409); // the names already exist: validation fails before the license check
    expect((over.json as { error: number }).error).toBe(2202);
    await api.del('/group', { node: 'mb', group: 'builtin' });
    await api.post('/tags', { node: 'mb', group: 'g', tags: tags('z', 2) });
    const license = await api.post('/tags/import', { node: 'mb' });
    expect([license.status, license.json]).toEqual([400, { index: 0, error: 2405, results: [{ index: 0, error: 2405 }] }]);
    const app = await api.post('/tags/import', { node: 'up' });
    expect([app.status, app.json]).toEqual([404, { index: 0, error: 3029 }]);
  });

  it('stays exact under concurrent batches: never more tags than the limit', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 24 }, (_, i) => api.post('/tags', { node: i % 2 === 0 ? 'mb' : 'ua', group: `c${i}`, tags: tags(`c${i}_`, 2) })),
    );
    const accepted = attempts.filter((r) => r.status === 200).length;
    const refused = attempts.filter((r) => r.status === 400 && (r.json as { error: number }).error === 2405).length;
    expect([accepted, refused]).toEqual([15, 9]);
    expect(sim.state.tagCount()).toBe(30);
    const all = (await api.get('/group')).json as GroupsAll;
    expect(all.groups.reduce((s, g) => s + g.tag_count, 0)).toBe(30);
  });

  it('refuses tags on north nodes and unknown nodes', async () => {
    const north = await api.post('/tags', { node: 'up', group: 'g', tags: [tag('a')] });
    expect([north.status, north.json]).toEqual([409, { index: 0, error: 2103 }]);
    const unknown = await api.post('/tags', { node: 'ghost', group: 'g', tags: [tag('a')] });
    expect([unknown.status, unknown.json]).toEqual([404, { index: 0, error: 2003 }]);
    const badBody = await api.post('/tags', { node: 'mb', group: 'g', tags: [{ name: 'a' }] });
    expect([badBody.status, badBody.json]).toEqual([400, { error: 1002 }]);
  });
});
