import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TRIAL_ALLOWANCE, type Limits } from '../../../shared/protocol/limits.js';
import { startGatekeeperProxy, type GatekeeperProxy } from '../../../agent/neuronex/gatekeeper-proxy.js';
import { NeuronClient } from '../../../agent/neuronex/neuron-client.js';
import { parseExtraRoutes } from '../../../agent/neuronex/neuron-routes.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';

// Issue 17 findings 1–3: the proxy cannot be talked past by Content-Type, path spelling or routes it
// does not gate, and the trial allowance behaves as NeuronEX's free allowance.
let sim: NeuronSimulator;
let proxy: GatekeeperProxy;
let open: GatekeeperProxy;
let limits: Limits = { tags: 10, connections: 3, plugins: [] };
let token: string;

/** Sends raw bytes: `contentType` undefined sends no Content-Type header at all. */
async function send(method: string, path: string, body: unknown, contentType: string | undefined, base = proxy.url) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const bytes = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(base + path, { method, headers, ...(method === 'GET' ? {} : { body: new TextEncoder().encode(bytes) }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const tag = (name: string) => ({ name, address: '1!400001', attribute: 1, type: 3 });
const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => tag(`${prefix}${i}`));
let mark = 0;
/** How often `route` reached the gateway since the current test began. */
const seen = (route: string) => sim.requests.slice(mark).filter((r) => r === route).length;

const CONTENT_TYPES = [undefined, 'text/plain', 'application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded'];

beforeAll(async () => {
  sim = await startNeuronSimulator({ maxTags: 100_000, maxNodes: 1_000, enabledPlugins: ['OPC UA', 'Siemens S7 ISOTCP', 'FANUC CNC'] });
  token = await sim.coreToken();
  const neuron = new NeuronClient({ apiBase: `${sim.coreUrl}/api/v2`, username: 'admin', password: '0000' });
  proxy = await startGatekeeperProxy({ target: sim.coreUrl, host: '127.0.0.1', port: 0, limits: () => limits, neuron });
  open = await startGatekeeperProxy({
    target: sim.coreUrl,
    host: '127.0.0.1',
    port: 0,
    limits: () => limits,
    neuron,
    extraRoutes: parseExtraRoutes(['POST /api/v2/vendor/thing', 'PUT /api/extra/*']),
  });
  expect((await send('POST', '/api/v2/node', { name: 'plc1', plugin: 'Modbus TCP' }, 'application/json')).body).toEqual({ error: 0 });
  expect((await send('POST', '/api/v2/group', { name: 'g1', node: 'plc1', interval: 1000 }, 'application/json')).body).toEqual({ error: 0 });
  expect((await send('POST', '/api/v2/tags', { node: 'plc1', group: 'g1', tags: tags('base', 8) }, 'application/json')).body).toMatchObject({ error: 0 });
});
afterAll(async () => {
  await proxy?.close();
  await open?.close();
  await sim?.close();
});
beforeEach(() => {
  mark = sim.requests.length;
  limits = { tags: 10, connections: 3, plugins: [] };
});

describe('finding 1: bodies are read whatever the Content-Type', () => {
  for (const ct of CONTENT_TYPES) {
    it(`Content-Type ${ct ?? '(none)'}: over-limit batches on every gated route are refused and never reach the gateway`, async () => {
      const before = sim.state.tagCount();
      const t = await send('POST', '/api/v2/tags', { node: 'plc1', group: 'g1', tags: tags('x', 5) }, ct);
      expect(t).toEqual({ status: 400, body: { index: 0, error: 2405, results: [{ index: 0, error: 2405 }] } });
      const g = await send('POST', '/api/v2/gtags', { node: 'plc1', groups: [{ group: 'g2', interval: 1000, tags: tags('y', 5) }] }, ct);
      expect(g).toEqual({ status: 400, body: { index: 0, error: 2405 } });
      limits = { tags: 10, connections: 1, plugins: [] };
      const n = await send('POST', '/api/v2/node', { name: 'extra', plugin: 'Modbus TCP' }, ct);
      expect(n).toEqual({ status: 200, body: { error: 2404 } });
      const d = await send('PUT', '/api/v2/global/drivers', { nodes: [{ name: 'bulk', plugin: 'Modbus TCP', groups: [{ group: 'g', interval: 1000, tags: tags('z', 1) }] }] }, ct);
      expect(d.body).toEqual({ error: 2404 });
      expect(sim.state.tagCount()).toBe(before);
      expect(seen('POST /api/v2/tags') + seen('POST /api/v2/gtags') + seen('PUT /api/v2/global/drivers')).toBe(0);
      expect(sim.state.node('extra')).toBeUndefined();
    });
  }

  it('a batch that fits still goes through with text/plain', async () => {
    const r = await send('POST', '/api/v2/tags', { node: 'plc1', group: 'g1', tags: [tag('fits')] }, 'text/plain');
    expect(r.body).toMatchObject({ error: 0 });
    expect(sim.state.tagCount()).toBe(9);
    await send('DELETE', '/api/v2/tags', { node: 'plc1', group: 'g1', tags: ['fits'] }, 'application/json');
  });

  it('an unreadable body on a gated route gets Neuron’s parse error (1002, HTTP 400), not 500 or a pass', async () => {
    for (const body of ['', 'not json', '{"node":"plc1",', '[1,2]'])
      for (const ct of [undefined, 'application/json', 'text/plain']) {
        expect(await send('POST', '/api/v2/node', body, ct)).toEqual({ status: 400, body: { error: 1002 } });
        expect(await send('POST', '/api/v2/tags', body, ct)).toEqual({ status: 400, body: { error: 1002 } });
      }
    expect(seen('POST /api/v2/node') + seen('POST /api/v2/tags')).toBe(0);
  });
});

describe('finding 2: every creating route is gated, every spelling of it, and unknown mutations are denied', () => {
  it('percent-encoded, doubled-slash, dot-segment, trailing-slash and case spellings of /tags are gated', async () => {
    for (const path of ['/api/v2/%74ags', '/api/v2/%74%61%67%73', '//api/v2//tags', '/api/v2/tags/', '/api/v2/./tags', '/api/v2/x/../tags', '/API/V2/TAGS', '/api/neuron/tags']) {
      const r = await send('POST', path, { node: 'plc1', group: 'g1', tags: tags('p', 5) }, 'application/json');
      expect(r.body, path).toMatchObject({ error: 2405 });
    }
    expect(sim.state.tagCount()).toBe(8);
  });

  it('every creating route of the route table is refused over the limit', async () => {
    limits = { tags: 8, connections: 1, plugins: [] }; // at both limits
    const body = { node: 'plc1', group: 'g1', tags: [tag('one')] };
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v2/node', { name: 'n2', plugin: 'Modbus TCP' }],
      ['POST', '/api/v2/tags', body],
      ['POST', '/api/v2/gtags', { node: 'plc1', groups: [{ group: 'g1', interval: 1000, tags: [tag('one')] }] }],
      ['PUT', '/api/v2/global/config', { nodes: [{ name: 'n3', plugin: 'Modbus TCP' }] }],
      ['PUT', '/api/v2/global/config', { tags: [{ driver: 'plc1', group: 'g1', tags: [tag('one')] }] }],
      ['PUT', '/api/v2/global/drivers', { nodes: [{ name: 'n4', plugin: 'Modbus TCP', groups: [] }] }],
      ['PUT', '/api/v2/global/apps', { nodes: [{ name: 'mqtt2', plugin: 'MQTT' }] }],
      ['POST', '/api/v2/tags/import', { node: 'plc1' }],
      ['POST', '/api/v2/cid', { path: '/tmp/x.cid', driver: 'ied' }],
      ['POST', '/api/v2/tpy', { node: 'plc1', file: 'x.tpy' }],
      ['POST', '/api/v2/ede', { node: 'plc1', file: 'x.ede' }],
      ['POST', '/api/v2/template/inst', { name: 'tpl', node: 'n5' }],
      ['POST', '/api/v2/template/instances', { nodes: [{ name: 'tpl', node: 'n6' }] }],
    ];
    for (const [m, p, b] of cases) {
      const r = await send(m, p, b, 'application/json');
      expect([2404, 2405], `${m} ${p}`).toContain(r.body.error);
      expect(seen(`${m} ${p}`), `${m} ${p} reached the gateway`).toBe(0);
    }
    expect(sim.state.tagCount()).toBe(8);
    expect(sim.state.nodeCount()).toBe(1);
  });

  it('PUT /global/config within the limits goes through and creates what it says', async () => {
    limits = { tags: 20, connections: 5, plugins: [] };
    const r = await send('PUT', '/api/v2/global/drivers', { nodes: [{ name: 'bulk1', plugin: 'Modbus TCP', groups: [{ group: 'g', interval: 1000, tags: tags('b', 2) }] }] }, 'text/plain');
    expect(r.body).toEqual({ error: 0 });
    expect(sim.state.tagCount()).toBe(10);
    await send('DELETE', '/api/v2/node', { name: 'bulk1' }, 'application/json');
  });

  it('an unknown mutating route is denied with a clear error; a configured extra route passes', async () => {
    const r = await send('POST', '/api/v2/vendor/thing', { a: 1 }, 'application/json');
    expect(r.status).toBe(403);
    expect(String(r.body.message)).toMatch(/FLOATLEASE_PROXY_ALLOW_ROUTES/);
    expect(await send('PUT', '/api/v2/%2e%2e/v9/anything', {}, 'application/json')).toMatchObject({ status: 403 });
    expect(seen('POST /api/v2/vendor/thing')).toBe(0);
    // Plugin libraries are installed by the vendor, not through the proxy.
    expect((await send('POST', '/api/v2/plugin', { library: 'libplugin-x.so' }, 'application/json')).status).toBe(403);
    const allowed = await send('POST', '/api/v2/vendor/thing', { a: 1 }, 'application/json', open.url);
    expect(allowed.status).toBe(404); // reached the gateway, which has no such route
    expect(seen('POST /api/v2/vendor/thing')).toBe(1);
    // Reads are never denied.
    expect((await send('GET', '/api/v2/version', '', undefined)).status).toBe(200);
  });
});

describe('finding 3: the trial allowance runs commercial plugins except CNC; unknown plugins get Neuron’s 2301', () => {
  it('trial + OPC UA allowed, FANUC CNC refused with 2403, an unknown plugin answered 2301', async () => {
    limits = { ...TRIAL_ALLOWANCE };
    expect((await send('POST', '/api/v2/node', { name: 'opc', plugin: 'OPC UA' }, 'application/json')).body).toEqual({ error: 0 });
    expect(await send('POST', '/api/v2/node', { name: 'cnc', plugin: 'FANUC CNC' }, 'application/json')).toEqual({ status: 200, body: { error: 2403 } });
    expect(await send('POST', '/api/v2/node', { name: 'nope', plugin: 'No Such Plugin' }, 'application/json')).toEqual({ status: 404, body: { error: 2301 } });
    expect(sim.state.node('cnc')).toBeUndefined();
    // A lease that does not list a commercial plugin still refuses it with 2403.
    limits = { tags: 100, connections: 100, plugins: [] };
    expect((await send('POST', '/api/v2/node', { name: 's7', plugin: 'Siemens S7 ISOTCP' }, 'application/json')).body).toEqual({ error: 2403 });
    await send('DELETE', '/api/v2/node', { name: 'opc' }, 'application/json');
  });
});
