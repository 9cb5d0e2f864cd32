import { describe, expect, it } from 'vitest';
import { FRESH_KEY_WINDOW_MS, FreshKeyAnnouncer } from '../../../server/signing/fresh-key-announcer.js';
import { KeySetVoucher } from '../../../server/signing/key-set-voucher.js';
import { keyStorePerFile, recordingLogger } from './lease-fixtures.js';

describe('FreshKeyAnnouncer: the vouched key set rides with leases of a newly rotated-in key', () => {
  const keys = keyStorePerFile('fresh-key');

  it('nothing for the first key; the set for a rotated-in key within the window; nothing after it', async () => {
    let now = Date.now();
    const voucher = new KeySetVoucher(keys, async () => keys.publicJwks() as unknown as { keys: Record<string, unknown>[] });
    const log = recordingLogger();
    const announcer = new FreshKeyAnnouncer(keys, () => voucher.document(), log, FRESH_KEY_WINDOW_MS, () => now);
    const first = keys.current().kid;
    expect(await announcer.forKid(first)).toBeUndefined();
    const created = await keys.rotate();
    const doc = await announcer.forKid(created.kid);
    expect(doc?.signatures).toHaveLength(2);
    expect(await announcer.forKid('no-such-kid')).toBeUndefined();
    now = Date.now() + FRESH_KEY_WINDOW_MS;
    expect(await announcer.forKid(created.kid)).toBeUndefined();
  });

  it('a key set that cannot be made is logged and left out, never thrown', async () => {
    const log = recordingLogger();
    const announcer = new FreshKeyAnnouncer(keys, () => Promise.reject(new Error('database down')), log);
    await keys.rotate();
    expect(await announcer.forKid(keys.current().kid)).toBeUndefined();
    expect(log.lines.map((l) => l.msg)).toContain('could not attach the vouched key set to a lease');
  });
});
