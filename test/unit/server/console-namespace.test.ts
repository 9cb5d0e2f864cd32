import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server } from 'socket.io';
import { io as ioc, type Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/ports.js';
import { CONSOLE_NAMESPACE, type ConsoleChanges } from '../../../shared/protocol/console-events.js';
import type { Actor } from '../../../server/auth/actor.js';
import { EventBus } from '../../../server/events/event-bus.js';
import { ConsoleNamespace } from '../../../server/realtime/console-namespace.js';

const GOOD = 'fl_good';
const viewer: Actor = { kind: 'user', id: 'u1', name: 'watcher', role: 'viewer', via: 'token' };

describe('console live namespace', () => {
  let server: http.Server;
  let io: Server;
  let bus: EventBus;
  let valid: Set<string>;
  let nsp: ConsoleNamespace;
  let url: string;
  const clients: Socket[] = [];

  const connect = async (token: string): Promise<{ socket: Socket; batches: ConsoleChanges[] }> => {
    const socket = ioc(`${url}${CONSOLE_NAMESPACE}`, { auth: { token }, transports: ['websocket'], reconnection: false });
    clients.push(socket);
    const batches: ConsoleChanges[] = [];
    socket.on('changes', (b: ConsoleChanges) => batches.push(b));
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', () => resolve());
      socket.on('connect_error', reject);
    });
    return { socket, batches };
  };

  beforeEach(async () => {
    server = http.createServer();
    io = new Server(server, { serveClient: false });
    bus = new EventBus();
    valid = new Set([GOOD]);
    const tokens = { authenticate: async (t: string) => (valid.has(t) ? viewer : undefined) };
    nsp = new ConsoleNamespace(io, { tokens, events: bus }, pino({ level: 'silent' }), { flushMs: 50, maxIds: 100, revalidateMs: 100 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await nsp.close();
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });

  it('refuses a handshake without a valid API token', async () => {
    await expect(connect('fl_bad')).rejects.toThrow('unauthorized');
    await expect(connect('')).rejects.toThrow('unauthorized');
  });

  it('coalesces a burst into one batch listing the ids and presence flips', async () => {
    const { batches } = await connect(GOOD);
    bus.emit('gateway.changed', { gatewayId: 'g1' });
    bus.emit('gateway.changed', { gatewayId: 'g1' });
    bus.emit('gateway.presence', { gatewayId: 'g2', poolId: 'p1', online: false, transport: 'mqtt' });
    bus.emit('pool.changed', { poolId: 'p2' });
    // The first batch holds the whole burst (emitted within one flush window), whenever it arrives.
    await waitFor('a batch', () => batches.length > 0);
    expect(batches).toHaveLength(1);
    expect([...batches[0]!.gateways!].sort()).toEqual(['g1', 'g2']);
    expect([...batches[0]!.pools!].sort()).toEqual(['p1', 'p2']);
    expect(batches[0]!.presence).toEqual({ online: 0, offline: 1 });
  });

  it('turns 10,000 changes into a few "many changed" batches, not 10,000 messages', async () => {
    const { batches } = await connect(GOOD);
    for (let i = 0; i < 10_000; i++) bus.emit('gateway.presence', { gatewayId: `g${i}`, poolId: 'p1', online: i % 2 === 0, transport: null });
    await waitFor('a batch', () => batches.length > 0);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.gateways).toBeNull();
    expect(batches[0]!.pools).toEqual(['p1']);
    expect(batches[0]!.presence).toEqual({ online: 5_000, offline: 5_000 });
  });

  it('disconnects a console whose token was revoked', async () => {
    const { socket } = await connect(GOOD);
    const gone = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    valid.delete(GOOD);
    expect(await gone).toBe('io server disconnect');
  });
});
