import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { LeaseGrant } from '../../../shared/protocol/rest.js';
import type { Db } from '../../../server/db/database.js';
import { AppError } from '../../../server/errors/app-error.js';
import { LeasePusher, type LeaseDelivery } from '../../../server/leases/lease-pusher.js';
import type { PushOutcome } from '../../../server/leases/lease-service.js';

const grant = (): LeaseGrant => ({ lease: 'x.y.z', jti: randomUUID(), seq: 1, expiresAt: 0, ttl: 60 });
const delivery = (name: string, answer: (gatewayId: string) => Promise<boolean>): LeaseDelivery & { seen: string[] } => {
  const seen: string[] = [];
  return { name, seen, deliver: (gatewayId) => (seen.push(gatewayId), answer(gatewayId)) };
};

/** The pusher with a fake lease service: each gateway id decides what its push grant does. */
function pusherWith(pushGrant: (gatewayId: string) => Promise<LeaseGrant | undefined>, transportOf: (gatewayId: string) => Promise<string | null> = async (id) => (id.startsWith('on-') ? id.slice(3) : null)) {
  const outcomes: PushOutcome[] = [];
  // poolChanged is the only user of the database; these tests never call it.
  const pusher = new LeasePusher({} as Db, { pushGrant }, pino({ level: 'silent' }), { pushed: (o) => outcomes.push(o) }, 2, transportOf);
  return { pusher, outcomes };
}

describe('LeasePusher', () => {
  it('counts each push by outcome: delivered by any transport, undelivered, skipped, failed', async () => {
    const { pusher, outcomes } = pusherWith(async (id) => {
      if (id === 'offline') return undefined;
      if (id === 'decommissioned') throw new AppError('unauthorized', 'gone');
      if (id === 'broken') throw new Error('database down');
      return grant();
    });
    const mqtt = delivery('mqtt', async (id) => id === 'on-mqtt');
    const ws = delivery('ws', async (id) => {
      if (id === 'on-ws') return true;
      throw new Error('socket closed');
    });
    pusher.addDelivery(mqtt);
    pusher.addDelivery(ws);
    for (const id of ['on-mqtt', 'on-ws', 'nowhere', 'offline', 'decommissioned', 'broken']) pusher.gatewayChanged(id);
    await pusher.idle();
    expect(outcomes.sort()).toEqual(['delivered', 'delivered', 'failed', 'skipped', 'skipped', 'undelivered']);
    // Every granted lease was offered to every transport; nothing was offered for the others.
    expect(mqtt.seen.sort()).toEqual(['nowhere', 'on-mqtt', 'on-ws']);
    expect(ws.seen.sort()).toEqual(['nowhere', 'on-mqtt', 'on-ws']);
  });

  it('counts delivered only when the transport the agent is on delivered it (a retained MQTT lease is no delivery to a Socket.IO agent)', async () => {
    const { pusher, outcomes } = pusherWith(async () => grant());
    // The broker takes every retained publish; the Socket.IO agent of 'on-ws' is on another replica and never answers.
    const mqtt = delivery('mqtt', async () => true);
    const ws = delivery('ws', async () => false);
    pusher.addDelivery(mqtt);
    pusher.addDelivery(ws);
    for (const id of ['on-ws', 'on-mqtt']) pusher.gatewayChanged(id);
    await pusher.idle();
    expect(outcomes.sort()).toEqual(['delivered', 'undelivered']);
    expect(mqtt.seen.sort()).toEqual(['on-mqtt', 'on-ws']);
  });

  it('logs a delivery error with the error object (issue 22: delivery errors were swallowed)', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const pusher = new LeasePusher({} as Db, { pushGrant: async () => grant() }, logger, {}, 2, async () => 'ws');
    pusher.addDelivery(delivery('ws', async () => {
      throw new Error('socket closed');
    }));
    pusher.gatewayChanged('gw-1');
    await pusher.idle();
    const line = lines.find((l) => l.msg === 'lease delivery failed');
    expect(line).toMatchObject({ gatewayId: 'gw-1', transport: 'ws', err: { message: 'socket closed' } });
  });

  it('coalesces repeated changes of one gateway that arrive while it is queued', async () => {
    let grants = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { pusher, outcomes } = pusherWith(async (id) => {
      grants += 1;
      if (id === 'a' || id === 'b') await gate;
      return grant();
    }, async () => 'mqtt');
    pusher.addDelivery(delivery('mqtt', async () => true));
    // a and b fill both slots; c waits in the queue, so its repeats coalesce into one push.
    pusher.gatewayChanged('a');
    pusher.gatewayChanged('b');
    for (let i = 0; i < 5; i++) pusher.gatewayChanged('c');
    release();
    await pusher.idle();
    expect(grants).toBe(3);
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered']);
  });
});
