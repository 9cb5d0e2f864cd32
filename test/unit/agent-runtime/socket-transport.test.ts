import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControllerProblem, type TransportHandlers } from '../../../agent/transport/agent-transport.js';
import { SocketTransport } from '../../../agent/transport/socket-transport.js';
import { AGENT_NAMESPACE } from '../../../shared/protocol/socket-events.js';
import { waitFor } from '../../helpers/ports.js';
import { captureLogger, CREDENTIAL, GATEWAY_ID, malformedPayloads, TestSigner } from './fakes.js';

let signer: TestSigner;
let server: http.Server;
let io: Server;
let url: string;
let sockets: Socket[] = [];
const received: { event: string; body: unknown }[] = [];
/** The fake controller's answer to each request. */
let answer: (event: string, body: unknown) => Promise<unknown>;

beforeAll(async () => {
  signer = await TestSigner.create();
  server = http.createServer();
  io = new Server(server);
  const nsp = io.of(AGENT_NAMESPACE);
  nsp.use((socket, next) => {
    const credential = (socket.handshake.auth as { credential?: unknown }).credential;
    if (credential === 'db-down') return next(Object.assign(new Error('unavailable'), { data: { code: 503 } }));
    if (credential !== CREDENTIAL) return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
    next();
  });
  nsp.on('connection', (socket) => {
    sockets.push(socket);
    for (const event of ['hello', 'renew', 'ack', 'usage', 'release']) {
      socket.on(event, (body: unknown, ack: (r: unknown) => void) => {
        received.push({ event, body });
        void answer(event, body).then(ack);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => io.close(() => resolve()));
  await signer.dispose();
});

const open: SocketTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  received.length = 0;
  sockets = [];
});

function transport(credential = CREDENTIAL, backoff = { baseMs: 50, maxMs: 200 }) {
  const events: string[] = [];
  const leases: number[] = [];
  const log = captureLogger();
  let accept = true;
  const handlers: TransportHandlers = {
    lease: async (g) => (leases.push(g.seq), accept),
    problem: (p) => void events.push(`problem:${p.name}`),
    up: () => void events.push('up'),
    down: () => void events.push('down'),
    authRefused: () => void events.push('authRefused'),
  };
  const t = new SocketTransport({ controllerUrl: url, identity: { gatewayId: GATEWAY_ID, credential }, handlers, logger: log.logger, requestTimeoutMs: 500, backoff });
  open.push(t);
  return { t, events, leases, log, refuse: () => (accept = false) };
}

describe('SocketTransport against an in-process Socket.IO namespace', () => {
  it('authenticates in the handshake; hello and renew replies carry leases; every request is acknowledged', async () => {
    const { t, events, leases } = transport();
    answer = async (event) => (event === 'hello' || event === 'renew' ? { ok: true, value: await signer.grant() } : { ok: true, value: event === 'ack' ? { acknowledged: true } : event === 'release' ? { released: 1 } : null });
    t.start();
    await waitFor('up', () => events.includes('up'));
    await t.hello({ agentVersion: 'test' }, 0);
    await t.renew(signer.seq);
    await t.ack('0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f');
    await t.usage({ tags: 1, connections: 2 });
    await t.release();
    expect(leases).toEqual([signer.seq - 1, signer.seq]);
    expect(received.map((r) => r.event)).toEqual(['hello', 'renew', 'ack', 'usage', 'release']);
    expect(received[1]!.body).toEqual({ seq: signer.seq - 1 });
  });

  it('a problem reply rejects the request; a malformed reply and no reply are errors too', async () => {
    const { t, events } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    answer = async () => ({ ok: false, error: { name: 'license-expired', detail: 'pool expired' } });
    await expect(t.renew(1)).rejects.toBeInstanceOf(ControllerProblem);
    answer = async () => ({ ok: true, value: { lease: 42 } });
    await expect(t.renew(1)).rejects.toThrow(/invalid reply to renew/);
    answer = () => new Promise(() => undefined);
    await expect(t.ack('0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f')).rejects.toThrow(/no answer to ack within 500 ms/);
  });

  it('answers pushed leases {accepted}; malformed pushes are dropped with a logged reason', async () => {
    const { t, events, leases, log, refuse } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    const socket = sockets[0]!;
    const g = await signer.grant();
    expect(await socket.timeout(1_000).emitWithAck('lease', g)).toEqual({ accepted: true });
    refuse();
    expect(await socket.timeout(1_000).emitWithAck('lease', await signer.grant())).toEqual({ accepted: false });
    for (const junk of [null, 'x', { lease: 1 }, [g]]) {
      expect(await socket.timeout(1_000).emitWithAck('lease', junk)).toEqual({ accepted: false });
    }
    socket.emit('problem', { name: 'license-expired', detail: 'x' });
    socket.emit('problem', { nope: true });
    await waitFor('problem', () => events.includes('problem:license-expired'));
    await waitFor('drops logged', () => log.lines.filter((l) => l.msg === 'dropped invalid websocket message').length === 5);
    expect(leases).toEqual([g.seq, g.seq + 1]);
  });

  it('survives a few hundred random malformed pushes and replies', async () => {
    const { t, events, leases, log, refuse } = transport();
    refuse(); // what the lease pipeline does with junk that is shaped like a lease message
    t.start();
    await waitFor('up', () => events.includes('up'));
    const junk = malformedPayloads(300, 7);
    for (const j of junk) expect(await sockets[0]!.timeout(1_000).emitWithAck('lease', j)).toEqual({ accepted: false });
    const dropped = log.lines.filter((l) => l.msg === 'dropped invalid websocket message').length;
    expect(dropped + leases.length).toBe(300);
    expect(dropped).toBeGreaterThan(250);
    let i = 0;
    answer = async () => ({ ok: true, value: junk[i++ % junk.length] });
    for (let k = 0; k < 50; k++) await t.renew(1).catch(() => undefined);
    expect(t.connected()).toBe(true);
  });

  it('reports a rejected credential; keeps retrying a handshake refused for another reason', async () => {
    const bad = transport('flg.nope');
    bad.t.start();
    await waitFor('auth refused', () => bad.events.includes('authRefused'));
    const busy = transport('db-down');
    busy.t.start();
    await waitFor('retried', () => busy.log.lines.filter((l) => l.msg === 'controller refused the websocket handshake; retrying').length >= 3);
    expect(busy.events).not.toContain('authRefused');
  });

  it('reconnects by itself when the server ends the session', async () => {
    const { t, events } = transport();
    t.start();
    await waitFor('up', () => events.includes('up'));
    sockets[0]!.disconnect(true);
    await waitFor('down', () => events.includes('down'));
    await waitFor('up again', () => events.filter((e) => e === 'up').length === 2);
    expect(t.connected()).toBe(true);
  });

  it('retries at once when told the controller answered, instead of waiting out its backoff', async () => {
    // Every wait of this backoff is minutes long: only retryNow can bring it back within the test.
    const { t, events, log } = transport(CREDENTIAL, { baseMs: 600_000, maxMs: 600_000 });
    t.start();
    await waitFor('up', () => events.includes('up'));
    t.retryNow(); // connected: nothing to do
    // A lost connection (not a server's goodbye): Socket.IO's manager waits out its backoff.
    sockets[0]!.conn.close();
    await waitFor('down', () => events.includes('down'));
    await waitFor('waiting out the backoff', () => (t as unknown as { backingOff: boolean }).backingOff);
    t.retryNow();
    await waitFor('up again', () => events.filter((e) => e === 'up').length === 2);
    expect(t.connected()).toBe(true);
    expect(log.lines.filter((l) => l.msg === 'the controller answered over HTTP; reconnecting now')).toHaveLength(1);
    // Requests go over the new session.
    answer = async () => ({ ok: true, value: null });
    await t.usage({ tags: 1, connections: 1 });
    expect(received.at(-1)).toEqual({ event: 'usage', body: { tags: 1, connections: 1 } });
  });
});
