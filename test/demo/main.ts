import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnChild, type Child } from './children.js';
import { adminApi, adminToken, demoVendor, portOrFree, seedGateway } from './setup.js';

/**
 * `npm run demo`: the controller (embedded database and broker), three simulated NeuronEX gateways
 * and their agents on loopback, a pool with a license and allocations; prints the URLs; Ctrl-C stops all.
 * FLOATLEASE_DEMO_DIR overrides the data folder (default ./.floatlease/demo).
 */
const GATEWAYS = [
  { name: 'press-line-1', tags: 200, connections: 10, seedTags: 120 },
  { name: 'press-line-2', tags: 300, connections: 10, seedTags: 60 },
  { name: 'packaging', tags: 100, connections: 5, seedTags: 30 },
];

const children: Child[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  // Agents first (they release their leases), then gateways, then the controller.
  const agents = children.filter((c) => c.name.startsWith('agent'));
  const sims = children.filter((c) => c.name.startsWith('gateway'));
  await Promise.all(agents.map((c) => c.stop()));
  await Promise.all(sims.map((c) => c.stop()));
  await Promise.all(children.filter((c) => c.name === 'controller').map((c) => c.stop()));
  process.exit(code);
}

async function main(): Promise<void> {
  const dir = path.resolve(process.env.FLOATLEASE_DEMO_DIR ?? '.floatlease/demo');
  await fs.mkdir(dir, { recursive: true });
  await fs.rm(path.join(dir, 'agents'), { recursive: true, force: true });
  const vendor = await demoVendor(dir);
  const token = adminToken();
  const port = await portOrFree(8080);

  process.stdout.write(`floatlease demo: starting the controller (data in ${dir}) …\n`);
  const controller = spawnChild('controller', 'server/main.ts', [], {
    HOST: '127.0.0.1',
    PORT: String(port),
    MQTT_EMBEDDED_PORT: '0',
    DATA_DIR: dir,
    ADMIN_TOKEN: token,
    TRUSTED_ISSUERS: vendor.publicJwkFile,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  });
  children.push(controller);
  const listening = await controller.line((l) => l.msg === 'floatlease controller listening', 120_000);
  const url = String(listening.url);
  const mqttUrl = String(listening.mqtt);
  const api = adminApi(url, token);

  const pool = await api<{ id: string }>('POST', '/api/v1/pools', { name: `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`, leaseTtlSeconds: 60 });
  await api('PUT', `/api/v1/pools/${pool.id}/license`, { license: await vendor.license() });
  const { code } = await api<{ code: string }>('POST', `/api/v1/pools/${pool.id}/activation-codes`, { seats: GATEWAYS.length });

  process.stdout.write('floatlease demo: starting three simulated NeuronEX gateways and their agents …\n');
  const gateways = await Promise.all(
    GATEWAYS.map(async (g, i) => {
      const sim = spawnChild(`gateway-${g.name}`, 'test/neuronex-sim/main.ts', ['--max-tags', '100000', '--max-nodes', '1000', '--plugins', 'OPC UA'], {});
      children.push(sim);
      const simUrls = await sim.line((l) => typeof l.coreUrl === 'string');
      const agent = spawnChild(`agent-${g.name}`, 'agent/main.ts', [], {
        FLOATLEASE_CONTROLLER_URL: url,
        FLOATLEASE_MQTT_URL: mqttUrl,
        FLOATLEASE_TRANSPORT: 'mqtt',
        FLOATLEASE_ACTIVATION_CODE: code,
        FLOATLEASE_STATE_DIR: path.join(dir, 'agents', g.name),
        FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
        FLOATLEASE_GATEWAY_NAME: g.name,
        FLOATLEASE_GATEWAY_URL: String(simUrls.coreUrl),
        FLOATLEASE_HTTP_PORT: '0',
        FLOATLEASE_PROXY_PORT: '0',
        FLOATLEASE_USAGE_INTERVAL_SEC: '2',
        FLOATLEASE_OVER_LIMIT_POLICY: i === 0 ? 'stop-excess' : 'block-new',
        LOG_FORMAT: 'json',
      });
      children.push(agent);
      const ready = await agent.line((l) => l.msg === 'agent ready');
      const gatewayId = String(ready.gatewayId);
      await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: g.tags, connections: g.connections, plugins: ['OPC UA'] });
      const localUrl = String(ready.localUrl);
      const proxyUrl = String(ready.proxyUrl);
      // Wait until the agent enforces the allocation, then give the gateway some configuration.
      for (let t = 0; t < 100; t++) {
        const lic = (await (await fetch(`${localUrl}/api/license`)).json()) as { totalTagCount?: number };
        if (lic.totalTagCount === g.tags) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await seedGateway(proxyUrl, 'plc1', g.seedTags);
      return { ...g, gatewayId, licensePage: `${localUrl}/`, licenseApi: `${localUrl}/api/license`, proxyUrl, gatewayUrl: String(simUrls.coreUrl) };
    }),
  );

  const out = [
    '',
    'floatlease demo is running. Open:',
    `  Web console          ${url}/    (admin token: ${token})`,
    `  Controller metrics   ${url}/metrics`,
    `  OpenAPI document     ${url}/api/v1/openapi.json`,
    '',
    ...gateways.flatMap((g) => [
      `  Gateway ${g.name} (allocation ${g.tags} tags / ${g.connections} connections, ${g.seedTags} tags in use)`,
      `    license page       ${g.licensePage}`,
      `    license API        ${g.licenseApi}`,
      `    NeuronEX API proxy ${g.proxyUrl}/api/v2   (admin / 0000; try going over ${g.tags} tags)`,
    ]),
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ];
  process.stdout.write(out.join('\n'));
  const urls = [`${url}/`, `${url}/metrics`, `${url}/api/v1/openapi.json`, ...gateways.flatMap((g) => [g.licensePage, g.licenseApi])];
  const pids = children.map((c) => c.proc.pid).filter((p): p is number => p !== undefined);
  process.stdout.write(`${JSON.stringify({ demo: 'ready', consoleUrl: `${url}/`, adminToken: token, urls, proxies: gateways.map((g) => g.proxyUrl), pids })}\n`);

  for (const c of children) {
    c.proc.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`floatlease demo: ${c.name} exited unexpectedly (${String(code)}): ${c.stderr()}\n`);
      void stopAll(1);
    });
  }
}

process.once('SIGINT', () => {
  process.stdout.write('\nfloatlease demo: stopping …\n');
  void stopAll(0);
});
process.once('SIGTERM', () => void stopAll(0));

main().catch((err: unknown) => {
  process.stderr.write(`floatlease demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void stopAll(1);
});
