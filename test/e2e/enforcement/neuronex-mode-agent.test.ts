import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { freePort, waitFor } from '../../helpers/ports.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';

// Issue 17 finding 5 with the real agent process: "the tests run the agent against both modes". Not
// enrolled (no controller, no code), so the agent enforces the trial allowance: 30 connections.
const MODES = [
  { mode: 'Neuron core (7000, /api/v2)', neuronex: false, prefix: '/api/v2', url: (s: NeuronSimulator) => s.coreUrl },
  { mode: 'NeuronEX (8085, /api/neuron)', neuronex: true, prefix: '/api/neuron', url: (s: NeuronSimulator) => s.exUrl },
] as const;

let sim: NeuronSimulator | undefined;
let agent: AgentProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await agent?.stop('SIGKILL');
  await sim?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
  agent = sim = dir = undefined;
});

describe.each(MODES)('real agent in front of $mode', ({ neuronex, prefix, url }) => {
  it('logs in as the gateway documents, counts as it counts: 30 user nodes on the trial, the 31st refused with 2404', async () => {
    sim = await startNeuronSimulator({ neuronex, maxTags: 100_000, maxNodes: 1_000 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-neuronex-mode-'));
    agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: `http://127.0.0.1:${await freePort()}`,
      FLOATLEASE_TRANSPORT: 'ws',
      FLOATLEASE_STATE_DIR: path.join(dir, 'state'),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_GATEWAY_URL: url(sim),
      FLOATLEASE_GATEWAY_API_PREFIX: prefix,
      FLOATLEASE_USAGE_INTERVAL_SEC: '1',
      FLOATLEASE_PROXY_PORT: '0',
    });
    await agent.ready(60_000);
    const proxyUrl = String(agent.logs.find((l) => l.msg === 'agent ready')?.proxyUrl);
    expect(proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.state.northNodeCount()).toBe(neuronex ? 1 : 0);
    // The user's login, through the agent's proxy, the way each product documents it.
    const login = neuronex
      ? await fetch(`${proxyUrl}/api/login`, { method: 'POST', body: JSON.stringify({ name: 'admin', password: '0000' }) })
      : await fetch(`${proxyUrl}/api/v2/login`, { method: 'POST', body: JSON.stringify({ name: 'admin', pass: '0000' }) });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const addNode = async (name: string) => {
      const r = await fetch(`${proxyUrl}${prefix}/node`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ name, plugin: 'Modbus TCP' }) });
      return { status: r.status, body: (await r.json()) as unknown };
    };
    for (let i = 0; i < 30; i++) expect((await addNode(`m${i}`)).body, `node ${i + 1}`).toEqual({ error: 0 });
    expect(await addNode('m-31')).toEqual({ status: 200, body: { error: 2404 } });
    expect(sim.state.nodeCount()).toBe(neuronex ? 31 : 30);
    // The agent's own reading: NeuronEX's built-in DataProcessing node is no connection.
    const lic = await waitFor('usage read', async () => {
      const l = await agent!.license();
      return l.usedConnections === 30 ? l : undefined;
    }, { timeoutMs: 20_000 });
    expect(lic).toMatchObject({ mode: 'TRIAL', maxConnections: 30, usedConnections: 30, overUsed: false });
  }, 120_000);
});
