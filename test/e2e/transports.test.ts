import crypto from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import mqtt, { type MqttClient } from 'mqtt';
import { io as ioc } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { agentClientId, topics } from '../../shared/protocol/mqtt-topics.js';
import { AGENT_NAMESPACE } from '../../shared/protocol/socket-events.js';
import { brokerVariants } from '../helpers/broker-variants.js';
import type { ControllerProcess } from '../helpers/controller-process.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'t'.repeat(43)}`;
const hw = () => crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');

const variants = brokerVariants('external Mosquitto with dynamic security');

describe.each(variants)('agent transports via $name', (variant) => {
  let stack: ControllerStack;
  let ctl: ControllerProcess;
  let poolId: string;
  const clients: MqttClient[] = [];
  const api = restClient(() => ctl.url, ADMIN);
  const enroll = async (code: string) => (await api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId: hw() }, null)).body;
  const connect = (gatewayId: string, password: string, extra: mqtt.IClientOptions = {}) =>
    mqtt.connectAsync(stack.mqttUrl, {
      username: gatewayId,
      password,
      clientId: agentClientId(gatewayId),
      reconnectPeriod: 0,
      keepalive: 2,
      will: { topic: topics.presence(gatewayId), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      ...extra,
    });
  const nextLease = (c: MqttClient, gatewayId: string, after = 0) =>
    new Promise<{ lease: string; jti: string; seq: number }>((resolve) => {
      const on = (topic: string, payload: Buffer) => {
        if (topic !== topics.lease(gatewayId)) return;
        const m = JSON.parse(payload.toString()) as { lease: string; jti: string; seq: number };
        if (m.seq <= after) return;
        c.off('message', on);
        resolve(m);
      };
      c.on('message', on);
    });

  beforeAll(async () => {
    stack = await startControllerStack({ name: 'transport', admin: ADMIN, broker: variant });
    ctl = stack.ctl;
    ({ poolId } = await stack.pool('p1', { tags: 500, connections: 50, plugins: ['OPC UA'] }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await stack?.close();
  });

  it('an MQTT agent gets a verified lease on hello and a pushed one on allocation change', async () => {
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
    const gw = await enroll(code);
    const c = await connect(gw.gatewayId, gw.credential);
    clients.push(c);
    await c.subscribeAsync([topics.lease(gw.gatewayId), topics.error(gw.gatewayId)], { qos: 1 });
    await c.publishAsync(topics.presence(gw.gatewayId), '{"online":true}', { qos: 1, retain: true });
    const first = nextLease(c, gw.gatewayId);
    await c.publishAsync(topics.up(gw.gatewayId, 'hello'), JSON.stringify({ agentVersion: 'test' }), { qos: 1 });
    const l1 = await first;
    const jwks = (await api<JSONWebKeySet>('GET', '/.well-known/jwks.json', undefined, null)).body;
    const { payload } = await jwtVerify(l1.lease, createLocalJWKSet(jwks), { audience: LEASE_AUDIENCE });
    expect(payload.sub).toBe(gw.gatewayId);
    await c.publishAsync(topics.up(gw.gatewayId, 'ack'), JSON.stringify({ jti: l1.jti }), { qos: 1 });

    const pushed = nextLease(c, gw.gatewayId, l1.seq);
    expect((await api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 120, connections: 7, plugins: ['OPC UA'] })).status).toBe(200);
    // Pushed unasked; how fast is the bench's (test/bench/phases/alloc-latency.ts), not a test budget.
    const l2 = await pushed;
    const claims = (await jwtVerify(l2.lease, createLocalJWKSet(jwks), { audience: LEASE_AUDIENCE })).payload as { points: unknown; plugins: unknown };
    expect(claims.points).toEqual({ tags: 120, connections: 7 });
    expect(claims.plugins).toEqual(['OPC UA']);
    const view = await api<{ online: boolean; transport: string }>('GET', `/api/v1/gateways/${gw.gatewayId}`);
    expect(view.body).toMatchObject({ online: true, transport: 'mqtt' });
  });

  it("an agent can neither read nor write another gateway's topics, and a wrong password is refused", async () => {
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
    const a = await enroll(code);
    const b = await enroll(code);
    await api('PUT', `/api/v1/gateways/${b.gatewayId}/allocation`, { tags: 10, connections: 1 });
    const cb = await connect(b.gatewayId, b.credential);
    clients.push(cb);
    await cb.subscribeAsync(topics.lease(b.gatewayId), { qos: 1 });
    const bLease = nextLease(cb, b.gatewayId);
    await cb.publishAsync(topics.up(b.gatewayId, 'hello'), JSON.stringify({ agentVersion: 'test' }), { qos: 1 });
    await bLease;

    const ca = await connect(a.gatewayId, a.credential);
    clients.push(ca);
    for (const filter of [topics.lease(b.gatewayId), 'floatlease/#', `floatlease/v1/gw/+/lease`]) {
      // Refused: either SUBACK 0x80 (mqtt.js rejects the promise) or a granted list of failures.
      const granted = await ca.subscribeAsync(filter, { qos: 1 }).catch(() => [{ qos: 128 }]);
      expect(granted.every((g) => g.qos === 128)).toBe(true);
    }
    const seen: string[] = [];
    ca.on('message', (t) => seen.push(t));
    // Try to release b's lease by publishing into b's subtree.
    // aedes drops a client that publishes where it may not; Mosquitto ignores the message.
    ca.publish(topics.up(b.gatewayId, 'release'), '{}', { qos: 0 });
    // An absence check, not a wait for an event: nothing is to arrive, so give a stray release the
    // time it would take to reach the controller before looking that none did.
    await new Promise((r) => setTimeout(r, 500));
    const held = await api<{ held: { tags: number }; lease: { state: string } }>('GET', `/api/v1/gateways/${b.gatewayId}`);
    expect(held.body.lease.state).not.toBe('released');
    expect(seen.filter((t) => t.includes(b.gatewayId))).toEqual([]);

    await expect(connect(a.gatewayId, `${a.credential.slice(0, -4)}AAAA`)).rejects.toThrow();
    await expect(connect(b.gatewayId, a.credential)).rejects.toThrow();
  });

  it('drops malformed messages without harm, and marks a silently lost agent offline by its will', async () => {
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
    const gw = await enroll(code);
    const c = await connect(gw.gatewayId, gw.credential);
    await c.publishAsync(topics.presence(gw.gatewayId), '{"online":true}', { qos: 1, retain: true });
    await c.publishAsync(topics.up(gw.gatewayId, 'ack'), 'not json', { qos: 1 });
    await c.publishAsync(topics.up(gw.gatewayId, 'usage'), JSON.stringify({ tags: -5 }), { qos: 1 });
    await waitFor('online', async () => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${gw.gatewayId}`)).body.online);
    expect((await fetch(`${ctl.url}/readyz`)).status).toBe(200);
    c.stream.destroy(); // a cut cable: no DISCONNECT, the broker fires the will after keepalive × 1.5
    // Only the will marks it offline here; how soon is the bench's (test/bench/phases/silent-loss.ts).
    await waitFor('offline', async () => !(await api<{ online: boolean }>('GET', `/api/v1/gateways/${gw.gatewayId}`)).body.online, { timeoutMs: 20_000 });
  });

  it('a WebSocket agent authenticates in the handshake, gets acknowledged leases and pushes', async () => {
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
    const gw = await enroll(code);
    const bad = ioc(`${ctl.url}${AGENT_NAMESPACE}`, { auth: { credential: 'flg.nope' }, transports: ['websocket'], reconnection: false });
    const err = await new Promise<Error>((resolve) => bad.on('connect_error', resolve));
    expect(err.message).toBe('unauthorized');
    bad.close();

    const s = ioc(`${ctl.url}${AGENT_NAMESPACE}`, { auth: { credential: gw.credential }, transports: ['websocket'], reconnection: false });
    try {
      const pushed: { seq: number; lease: string }[] = [];
      s.on('lease', (l: { seq: number; lease: string }, ack: (r: { accepted: boolean }) => void) => {
        pushed.push(l);
        ack({ accepted: true });
      });
      await new Promise<void>((resolve) => s.on('connect', () => resolve()));
      const hello = (await s.timeout(3000).emitWithAck('hello', { agentVersion: 'test' })) as { ok: boolean; value: { jti: string; seq: number } };
      expect(hello.ok).toBe(true);
      const ack = (await s.timeout(3000).emitWithAck('ack', { jti: hello.value.jti })) as { ok: boolean; value: { acknowledged: boolean } };
      expect(ack).toEqual({ ok: true, value: { acknowledged: true } });
      const bogus = (await s.timeout(3000).emitWithAck('usage', { tags: 'many' })) as { ok: boolean; error: { name: string } };
      expect(bogus).toMatchObject({ ok: false, error: { name: 'validation-failed' } });
      await api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 33, connections: 3 });
      await waitFor('pushed lease', () => pushed.find((p) => p.seq > hello.value.seq));
      expect((await api<{ transport: string; online: boolean }>('GET', `/api/v1/gateways/${gw.gatewayId}`)).body).toMatchObject({ online: true, transport: 'ws' });
      const rel = (await s.timeout(3000).emitWithAck('release', {})) as { ok: boolean; value: { released: number } };
      expect(rel.ok).toBe(true);
      expect(rel.value.released).toBeGreaterThanOrEqual(1);
    } finally {
      s.close();
    }
  });
});
