import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestPki, startTlsTerminator, type TestPki, type TlsTerminator } from '../helpers/tls-terminator.js';
import { createTestVendor } from '../helpers/vendor.js';

const ADMIN = `fl_${'c'.repeat(43)}`;

/**
 * Issue 16: an https:// controller (and an mqtts:// broker) whose certificate a private CA signed,
 * trusted through FLOATLEASE_CA_FILE. The CA is made by the test (openssl); TLS is served on
 * 127.0.0.1 in front of the real controller's HTTP port and its embedded broker.
 */
describe('agent with FLOATLEASE_CA_FILE: https, wss and mqtts to a private CA (issue 16)', () => {
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let dir: string;
  let pki: TestPki;
  let https: TlsTerminator;
  let mqtts: TlsTerminator;
  let code: string;
  const agents: AgentProcess[] = [];
  const api = restClient(() => ctl.url, ADMIN);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-tls-'));
    pki = await createTestPki(dir);
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    ctl = await startControllerProcess(
      { DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, TRUSTED_ISSUERS: vendor.publicJwkFile, DATA_DIR: path.join(dir, 'controller'), PORT: String(await freePort()), MQTT_EMBEDDED_PORT: String(await freePort()) },
      { readyTimeoutMs: 120_000 },
    );
    https = await startTlsTerminator(pki, Number(new URL(ctl.url).port));
    mqtts = await startTlsTerminator(pki, Number(new URL(ctl.mqttUrl).port));
    const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'tls' })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 1_000, connections: 10 }) })).status).toBe(200);
    code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await https?.close();
    await mqtts?.close();
    await ctl?.stop();
    await db?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const agent = (transport: 'ws' | 'mqtt', caFile: string | undefined) => {
    const a = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: `https://127.0.0.1:${https.port}`,
      FLOATLEASE_MQTT_URL: `mqtts://127.0.0.1:${mqtts.port}`,
      FLOATLEASE_TRANSPORT: transport,
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: path.join(dir, crypto.randomUUID()),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      ...(caFile ? { FLOATLEASE_CA_FILE: caFile } : {}),
    });
    agents.push(a);
    return a;
  };

  it('enrolls over https and holds a lease over wss, and over mqtts, with the CA file', async () => {
    for (const transport of ['ws', 'mqtt'] as const) {
      const a = agent(transport, pki.caFile);
      const { gatewayId } = await a.ready(90_000);
      expect(gatewayId).toMatch(/^[0-9a-f-]{36}$/);
      await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 100, connections: 2 });
      const license = await waitFor(`the lease over ${transport}`, async () => {
        const l = await a.license();
        return l.mode === 'FLOATING' && l.totalTagCount === 100 ? l : undefined;
      }, { timeoutMs: 60_000 });
      expect(license.transport).toBe(transport);
    }
  }, 240_000);

  it('without the CA file the private certificate is refused: no enrollment, trial allowance', async () => {
    const a = agent('ws', undefined);
    const line = await waitFor('a refused enrollment attempt', () => a.logs.find((l) => l.msg === 'cannot enroll yet; retrying'), { timeoutMs: 60_000 });
    // The agent logs the error object (pino serialises it as { type, message, stack }).
    expect(JSON.stringify(line.err)).toMatch(/certificate/i);
    expect(a.logs.some((l) => l.msg === 'enrolled')).toBe(false);
  }, 120_000);
});
