import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../../helpers/agent-process.js';
import { startControllerStack, type ControllerStack } from '../../helpers/controller-stack.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const ADMIN = `fl_${'o'.repeat(43)}`;
const LOCAL_TOKEN = 'local-admin-token-offline-file';

interface OfflineLicense {
  license: string;
  jti: string;
  seq: number;
  expiresAt: number;
}
interface AuditItem {
  action: string;
  subject: string;
  actor: string;
  after: Record<string, unknown>;
}

// Issue 17 finding 9: "load an offline license file issued by the controller … audited at the controller".
// The agent reports the load; out of the controller's reach, it reports it at the next contact.
describe('offline license file loaded at the device, audited at the controller (real controller, real agent)', () => {
  let s: ControllerStack;
  let agent: AgentProcess;
  let gatewayId: string;
  let localUrl: string;
  const proxies: TcpProxy[] = [];
  const api = restClient(() => s.ctl.url, ADMIN);
  const cut = () => proxies.forEach((p) => p.blackhole());
  const heal = () => proxies.forEach((p) => p.heal());
  const loadedRows = async () =>
    (await api<{ items: AuditItem[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=lease.offline-loaded`)).body.items;
  const issue = async (ttlSeconds: number) => {
    const r = await api<OfflineLicense>('POST', `/api/v1/gateways/${gatewayId}/offline-license`, { ttlSeconds });
    expect(r.status).toBe(200);
    return r.body;
  };
  const load = async (file: OfflineLicense) => {
    const r = await fetch(`${localUrl}/api/license/file`, { method: 'POST', headers: { authorization: `Bearer ${LOCAL_TOKEN}` }, body: JSON.stringify(file) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    s = await startControllerStack({ name: 'offline-file-e2e', admin: ADMIN, restartable: true, readyTimeoutMs: 90_000 });
    // A long lease lifetime: no renewal (a higher seq) lands between issuing a file and loading it.
    const { code } = await s.pool('offline-file', { tags: 500, connections: 20 }, { settings: { leaseTtlSeconds: 3600 }, seats: 1 });
    // Every route from the agent to the controller (MQTT and HTTP) runs through a proxy the test can cut.
    proxies.push(await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.ctl.mqttUrl).port) }), await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.ctl.url).port) }));
    agent = s.agent({
      FLOATLEASE_CONTROLLER_URL: proxies[1]!.url('http'),
      FLOATLEASE_MQTT_URL: proxies[0]!.url('mqtt'),
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_LOCAL_TOKEN: LOCAL_TOKEN,
    });
    ({ gatewayId, localUrl } = await agent.ready(60_000));
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 40, connections: 4 })).status).toBe(200);
    await waitFor('lease applied', async () => (await agent.license()).totalTagCount === 40, { timeoutMs: 30_000 });
  }, 150_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await Promise.all(proxies.map((p) => p.close()));
    await s?.close();
  });

  it('controller reachable: the load is reported at once, one lease.offline-loaded row with the file’s seq and exp', async () => {
    const file = await issue(2 * 24 * 3600);
    const r = await load(file);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ seq: file.seq, offline: true, reported: true });
    const rows = await loadedRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ subject: file.jti, actor: `gateway:${gatewayId}`, after: { seq: file.seq, exp: file.expiresAt, issuedAsFile: true } });
  }, 60_000);

  it('controller out of reach: the load is enforced at once and audited when the agent reaches the controller again', async () => {
    cut();
    // Issued while the device is cut off (the operator carries the file to it): no later lease can reach it first.
    const file = await issue(24 * 3600);
    const r = await load(file);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ seq: file.seq, reported: false });
    expect(await agent.license()).toMatchObject({ leaseOffline: true, totalTagCount: 40 });
    expect((await loadedRows()).map((row) => row.subject)).not.toContain(file.jti);
    heal();
    const row = await waitFor('the late report audited', async () => (await loadedRows()).find((x) => x.subject === file.jti), { timeoutMs: 60_000 });
    expect(row.after).toMatchObject({ seq: file.seq, exp: file.expiresAt, issuedAsFile: true });
    // The agent logs the controller's answer (after the row was written).
    await waitFor('the agent saw the report recorded', () => agent.logs.some((l) => l.msg === 'reported the offline license file to the controller' && l.seq === file.seq && l.recorded === true));
  }, 120_000);
});
