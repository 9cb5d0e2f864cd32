import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestPki, startTlsTerminator, type TestPki, type TlsTerminator } from '../helpers/tls-terminator.js';

const ADMIN = `fl_${'c'.repeat(43)}`;

/**
 * Issue 16: an https:// controller (and an mqtts:// broker) whose certificate a private CA signed,
 * trusted through FLOATLEASE_CA_FILE. The CA is made by the test (openssl); TLS is served on
 * 127.0.0.1 in front of the real controller's HTTP port and its embedded broker.
 */
describe('agent with FLOATLEASE_CA_FILE: https, wss and mqtts to a private CA (issue 16)', () => {
  let s: ControllerStack;
  let pki: TestPki;
  let https: TlsTerminator;
  let mqtts: TlsTerminator;
  let code: string;
  const api = restClient(() => s.ctl.url, ADMIN);

  beforeAll(async () => {
    s = await startControllerStack({ name: 'tls', admin: ADMIN, restartable: true, readyTimeoutMs: 120_000 });
    pki = await createTestPki(s.dir);
    https = await startTlsTerminator(pki, Number(new URL(s.ctl.url).port));
    mqtts = await startTlsTerminator(pki, Number(new URL(s.ctl.mqttUrl).port));
    ({ code } = await s.pool('tls', { tags: 1_000, connections: 10 }, { seats: 5 }));
  }, 180_000);
  afterAll(async () => {
    await Promise.all(s?.agents.map((a) => a.stop('SIGKILL')) ?? []);
    await https?.close();
    await mqtts?.close();
    await s?.close();
  });

  const agent = (transport: 'ws' | 'mqtt', caFile: string | undefined) =>
    s.agent({
      FLOATLEASE_CONTROLLER_URL: `https://127.0.0.1:${https.port}`,
      FLOATLEASE_MQTT_URL: `mqtts://127.0.0.1:${mqtts.port}`,
      FLOATLEASE_TRANSPORT: transport,
      FLOATLEASE_ACTIVATION_CODE: code,
      ...(caFile ? { FLOATLEASE_CA_FILE: caFile } : {}),
    });

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
