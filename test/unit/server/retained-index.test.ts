import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RetainedIndex, indexRetainedMessages, type RetainedPacket, type RetainedPersistence } from '../../../server/mqtt/retained-index.js';

const pkt = (topic: string, payload = 'x'): RetainedPacket => ({ topic, payload: Buffer.from(payload) });
const topicsOf = (index: RetainedIndex, filter: string) => [...index.match(filter)].map((p) => p.topic).sort();

describe('retained message index (embedded broker)', () => {
  const index = new RetainedIndex();
  for (const t of ['fl/gw/a/lease', 'fl/gw/a/presence', 'fl/gw/b/lease', 'fl/gw/b/down/error', 'fl', 'other/x']) index.store(pkt(t));

  it('matches exact topics and MQTT wildcards like a scan would', () => {
    expect(topicsOf(index, 'fl/gw/a/lease')).toEqual(['fl/gw/a/lease']);
    expect(topicsOf(index, 'fl/gw/c/lease')).toEqual([]);
    expect(topicsOf(index, 'fl/gw/+/lease')).toEqual(['fl/gw/a/lease', 'fl/gw/b/lease']);
    expect(topicsOf(index, 'fl/gw/b/down/+')).toEqual(['fl/gw/b/down/error']);
    expect(topicsOf(index, 'fl/#')).toEqual(['fl', 'fl/gw/a/lease', 'fl/gw/a/presence', 'fl/gw/b/down/error', 'fl/gw/b/lease']);
    expect(topicsOf(index, '+/x')).toEqual(['other/x']);
    expect(topicsOf(index, 'fl/gw/+')).toEqual([]);
  });

  it('replaces on store and forgets on an empty payload, pruning empty branches', () => {
    const i = new RetainedIndex();
    i.store(pkt('a/b/c', 'one'));
    i.store(pkt('a/b/c', 'two'));
    expect([...i.match('a/b/c')].map((p) => p.payload.toString())).toEqual(['two']);
    i.store(pkt('a/b/c', ''));
    expect(topicsOf(i, '#')).toEqual([]);
    i.store(pkt('a/b/gone', ''));
    expect(topicsOf(i, '#')).toEqual([]);
  });

  it('wraps a persistence: stores through to it and answers lookups from the index', async () => {
    const stored: string[] = [];
    const persistence: RetainedPersistence = {
      storeRetained: async (p) => void stored.push(p.topic),
      createRetainedStreamCombi: () => Readable.from([]),
      createRetainedStream: () => Readable.from([]),
    };
    indexRetainedMessages(persistence);
    await persistence.storeRetained(pkt('fl/gw/a/lease'));
    await persistence.storeRetained(pkt('fl/gw/a/presence'));
    expect(stored).toEqual(['fl/gw/a/lease', 'fl/gw/a/presence']);
    const found: RetainedPacket[] = [];
    for await (const p of persistence.createRetainedStreamCombi(['fl/gw/a/lease', 'fl/gw/a/down/+'])) found.push(p as RetainedPacket);
    expect(found.map((p) => p.topic)).toEqual(['fl/gw/a/lease']);
  });
});
