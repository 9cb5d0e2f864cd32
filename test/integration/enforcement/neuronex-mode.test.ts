import { afterEach, describe, expect, it } from 'vitest';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { neuronClientFor } from '../../../agent/neuronex/enforcement.js';
import { startGatekeeperProxy, type GatekeeperProxy } from '../../../agent/neuronex/gatekeeper-proxy.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';

// Issue 17 finding 5: the agent in front of Neuron core (port 7000, /api/v2) and in front of
// NeuronEX (port 8085, /api/neuron, login POST /api/login {name,password}, DataProcessing built in).
let sim: NeuronSimulator | undefined;
let proxy: GatekeeperProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await sim?.close();
  proxy = sim = undefined;
});

const MODES = [
  { mode: 'Neuron core', neuronex: false, prefix: '/api/v2', url: (s: NeuronSimulator) => s.coreUrl },
  { mode: 'NeuronEX', neuronex: true, prefix: '/api/neuron', url: (s: NeuronSimulator) => s.exUrl },
] as const;

describe.each(MODES)('agent in front of $mode', ({ neuronex, prefix, url }) => {
  it('logs in with the gateway’s documented login and counts connections as the gateway does: the trial allows 30 user nodes', async () => {
    sim = await startNeuronSimulator({ neuronex, maxTags: 100_000, maxNodes: 1_000 });
    const neuron = neuronClientFor({ url: url(sim), apiPrefix: prefix, username: 'admin', password: '0000' });
    const first = await neuron.usage();
    expect(first.connections).toBe(0); // NeuronEX's DataProcessing is part of the product, not a connection
    expect(sim.state.northNodeCount()).toBe(neuronex ? 1 : 0);
    proxy = await startGatekeeperProxy({ target: url(sim), host: '127.0.0.1', port: 0, limits: () => TRIAL_ALLOWANCE, neuron });
    // A user logs in through the proxy the way the gateway documents it.
    const login = neuronex
      ? await fetch(`${proxy.url}/api/login`, { method: 'POST', body: JSON.stringify({ name: 'admin', password: '0000' }) })
      : await fetch(`${proxy.url}/api/v2/login`, { method: 'POST', body: JSON.stringify({ name: 'admin', pass: '0000' }) });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const call = async (body: unknown) => {
      const r = await fetch(`${proxy!.url}${prefix}/node`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as unknown };
    };
    for (let i = 0; i < 30; i++) expect((await call({ name: `m${i}`, plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
    expect(await call({ name: 'm-31', plugin: 'Modbus TCP' })).toEqual({ status: 200, body: { error: 2404 } });
    expect((await neuron.usage()).connections).toBe(30);
    expect(sim.state.nodeCount()).toBe(neuronex ? 31 : 30);
  });
});

it('NeuronEX has no /api/neuron/login: a client that logs in there (the old agent) fails', async () => {
  sim = await startNeuronSimulator({ neuronex: true });
  const r = await fetch(`${sim.exUrl}/api/neuron/login`, { method: 'POST', body: JSON.stringify({ name: 'admin', pass: '0000' }) });
  expect(r.status).toBe(404);
});
