import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControllerProblem, type TransportHandlers } from '../../../agent/transport/agent-transport.js';
import { MqttTransport } from '../../../agent/transport/mqtt-transport.js';
import type { LeaseMessage } from '../../../shared/protocol/agent-messages.js';
import { gatewayAcl, topicMatches, topics } from '../../../shared/protocol/mqtt-topics.js';
import type { BrokerAuthorizer } from '../../../server/mqtt/embedded-broker.js';
import { startAedes, type TestBroker } from '../../helpers/brokers.js';
import { waitFor } from '../../helpers/ports.js';
import { captureLogger, CREDENTIAL, GATEWAY_ID, malformedPayloads, TestSigner } from './fakes.js';

/** The embedded broker's rules in miniature: the controller may do anything, the gateway only its subtree. */
const authorizer: BrokerAuthorizer = {
  authenticate: async (u, p) => (u === 'ctl' && p === 'ctl' ? { kind: 'controller' } : u === GATEWAY_ID && p === CREDENTIAL ? { kind: 'gateway', gatewayId: GATEWAY_ID } : null),
  canPublish: (who, t) => who.kind === 'controller' || gatewayAcl(GATEWAY_ID).publish.some((f) => topicMatches(f, t)),
  canSubscribe: (who, t) => who.kind === 'controller' || gatewayAcl(GATEWAY_ID).subscribe.some((f) => topicMatches(f, t)),
};

let broker: TestBroker;
let signer: TestSigner;
let ctl: MqttClient;
const seen: { topic: string; body: string; retain: boolean }[] = [];
/** What the fake controller does on hello/renew: publish a lease retained, or an error. */
let onRequest: (kind: string) => Promise<void>;

beforeAll(async () => {
  signer = await TestSigner.create();
  broker = await startAedes(authorizer);
  ctl = await mqtt.connectAsync(broker.url, { username: 'ctl', password: 'ctl', clientId: 'fake-controller' });
  await ctl.subscribeAsync([topics.allUp, topics.allPresence], { qos: 1 });
  ctl.on('message', (topic, payload, packet) => {
    seen.push({ topic, body: payload.toString(), retain: packet.retain });
    const kind = topic.split('/').at(-1)!;
    if (kind === 'hello' || kind === 'renew') void onRequest(kind);
  });
});
afterAll(async () => {
  await ctl.endAsync(true);
  await broker.dispose();
  await signer.dispose();
});

const publishLease = (g: LeaseMessage | string) =>
  ctl.publishAsync(topics.lease(GATEWAY_ID), typeof g === 'string' ? g : JSON.stringify(g), { qos: 1, retain: true });

const open: MqttTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await publishLease(''); // clears the retained lease
  seen.length = 0;
});

function transport(credential = CREDENTIAL, backoff = { baseMs: 50, maxMs: 200 }) {
  const events: string[] = [];
  const leases: { seq: number; retained: boolean }[] = [];
  const log = captureLogger();
  const handlers: TransportHandlers = {
    lease: async (g, _via, meta) => {
      leases.push({ seq: g.seq, retained: meta?.retained ?? false });
      return true;
    },
    problem: (p) => void events.push(`problem:${p.name}`),
    up: () => void events.push('up'),
    down: () => void events.push('down'),
    authRefused: () => void events.push('authRefused'),
  };
  const t = new MqttTransport({ url: broker.url, identity: { gatewayId: GATEWAY_ID, credential }, keepaliveSec: 5, handlers, logger: log.logger, requestTimeoutMs: 1_000, backoff });
  open.push(t);
  return { t, events, leases, log };
}

describe('MqttTransport against an in-process broker', () => {
  it('says hello with presence online, gets the lease retained, acks and releases on its own topics', async () => {
    onRequest = async () => void (await publishLease(await signer.grant()));
    const { t, events, leases } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    expect(t.connected()).toBe(true);
    await t.hello({ agentVersion: 'test' }, signer.seq);
    expect(leases.at(-1)?.seq).toBe(signer.seq);
    await t.ack('0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f');
    await t.usage({ tags: 3, connections: 1 });
    await t.release();
    await waitFor('release seen', () => seen.some((s) => s.topic.endsWith('/up/release')));
    const byTopic = (k: string) => seen.filter((s) => s.topic.endsWith(k));
    expect(byTopic('/presence')[0]).toEqual({ topic: topics.presence(GATEWAY_ID), body: '{"online":true}', retain: false });
    expect(JSON.parse(byTopic('/up/hello')[0]!.body)).toEqual({ agentVersion: 'test' });
    expect(JSON.parse(byTopic('/up/ack')[0]!.body)).toEqual({ jti: '0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f' });
    expect(JSON.parse(byTopic('/up/usage')[0]!.body)).toEqual({ tags: 3, connections: 1 });
    expect(byTopic('/up/release')).toHaveLength(1);
    // A clean close says offline itself (a clean DISCONNECT suppresses the will).
    await t.close();
    await waitFor('offline', () => seen.some((s) => s.topic.endsWith('/presence') && s.body === '{"online":false}'));
  });

  it('a reconnecting agent gets the latest lease at once (retained); a renewal is answered by the next fresher lease', async () => {
    const retained = await signer.grant();
    await publishLease(retained);
    const { t, events, leases } = transport();
    t.start();
    await waitFor('retained lease', () => leases.find((l) => l.seq === retained.seq && l.retained));
    await waitFor('up', () => events.includes('up'));
    onRequest = async (kind) => void (kind === 'renew' && (await publishLease(await signer.grant())));
    await t.renew(retained.seq);
    expect(leases.at(-1)).toEqual({ seq: retained.seq + 1, retained: false });
  });

  it('a problem on the error topic fails the pending request; no answer times out', async () => {
    const { t, events } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    onRequest = async () => void ctl.publish(topics.error(GATEWAY_ID), JSON.stringify({ name: 'license-expired', detail: 'pool p1 expired' }), { qos: 1 });
    await expect(t.renew(signer.seq)).rejects.toBeInstanceOf(ControllerProblem);
    expect(events).toContain('problem:license-expired');
    onRequest = async () => undefined;
    await expect(t.renew(signer.seq)).rejects.toThrow(/no answer to renew within 1000 ms/);
  });

  // The gateway-enforcement e2e test caught a real agent dying here: the connection dropped before
  // the broker's PUBACK, the pending answer was rejected with nobody listening yet, and Node ended
  // the process on the unhandled rejection.
  it('a connection lost while a request awaits its PUBACK fails that request and nothing else', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { t, events } = transport();
      t.start();
      await waitFor('up', () => events.includes('up'));
      onRequest = async () => undefined;
      const renewing = t.renew(signer.seq);
      // Before any reply can arrive: the PUBACK needs a round trip through the event loop.
      (t as unknown as { client: MqttClient }).client.stream.destroy();
      await expect(renewing).rejects.toThrow(/mqtt connection lost|no answer to renew/);
      await waitFor('down', () => events.includes('down'));
      // Not a wait for the subject: the loss already happened ('down'); this absence check gives Node
      // a few event-loop turns to report a rejection nobody handled.
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      await waitFor('up again', () => events.filter((e) => e === 'up').length === 2);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('drops malformed lease and error messages with a logged reason and keeps working', async () => {
    const { t, events, leases, log } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    const garbage = ['not json', '{"lease":1}', JSON.stringify({ lease: 'a.b.c', jti: 'nope', seq: 1, expiresAt: 1, ttl: 1 }), 'x'.repeat(20_000), '[]', 'null'];
    for (const g of garbage) await publishLease(g);
    await ctl.publishAsync(topics.error(GATEWAY_ID), '{"name":"no-such-problem"}', { qos: 1 });
    await waitFor('all dropped', () => log.lines.filter((l) => String(l.msg).startsWith('dropped')).length === garbage.length + 1);
    expect(log.lines.filter((l) => String(l.msg).startsWith('dropped')).every((l) => l.level === 40 && typeof l.reason === 'string')).toBe(true);
    expect(leases).toEqual([]);
    const good = await signer.grant();
    await publishLease(good);
    await waitFor('good lease', () => leases.find((l) => l.seq === good.seq));
  });

  it('survives a few hundred random malformed lease payloads, each dropped with a logged reason', async () => {
    const { t, events, leases, log } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    const junk = malformedPayloads(300);
    for (const j of junk) {
      const payload = Buffer.isBuffer(j) ? j : typeof j === 'string' ? j : JSON.stringify(j);
      // Empty payloads clear a retained message; they are not junk.
      if (payload.length > 0) await ctl.publishAsync(topics.lease(GATEWAY_ID), payload, { qos: 1 });
    }
    const expected = junk.filter((j) => (Buffer.isBuffer(j) ? j : typeof j === 'string' ? j : JSON.stringify(j)).length > 0).length;
    // Junk shaped like a lease message goes on to verification (the pipeline refuses it); the rest is dropped here.
    const dropped = () => log.lines.filter((l) => String(l.msg).startsWith('dropped')).length;
    await waitFor('all handled', () => dropped() + leases.length === expected, { timeoutMs: 10_000 });
    expect(dropped()).toBeGreaterThan(250);
    expect(t.connected()).toBe(true);
  });

  it('reports a refused login, and comes back by itself after a broker restart', async () => {
    const bad = transport(`${CREDENTIAL.slice(0, -4)}AAAA`);
    bad.t.start();
    await waitFor('auth refused', () => bad.events.includes('authRefused'));
    await bad.t.close();

    const { t, events } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    await broker.stop();
    await waitFor('down', () => events.includes('down'));
    await broker.restart();
    await waitFor('up again', () => events.filter((e) => e === 'up').length === 2, { timeoutMs: 5_000 });
    expect(t.connected()).toBe(true);
  });

  it('retries at once when told the controller answered, instead of waiting out its backoff', async () => {
    // Every wait of this backoff is 5-10 minutes: only retryNow can bring it back within the test.
    const { t, events, log } = transport(CREDENTIAL, { baseMs: 600_000, maxMs: 600_000 });
    t.start();
    await waitFor('up', () => events.includes('up'));
    t.retryNow(); // connected: nothing to do
    await broker.stop();
    await waitFor('down', () => events.includes('down'));
    const backingOff = () => (t as unknown as { backingOff: boolean }).backingOff;
    await waitFor('waiting out the backoff', backingOff);
    t.retryNow(); // the broker is still down: this attempt fails, and the next wait starts
    expect(backingOff()).toBe(false);
    await waitFor('the attempt failed; waiting again', backingOff);
    await broker.restart();
    t.retryNow();
    await waitFor('up again', () => events.filter((e) => e === 'up').length === 2);
    expect(log.lines.filter((l) => l.msg === 'the controller answered over HTTP; reconnecting now')).toHaveLength(2);
  });
});
