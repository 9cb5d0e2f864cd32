import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../../../agent/state/file-state-store.js';
import { GATEWAY_ID, recordingLogger, tempDirsPerTest } from '../signing/lease-fixtures.js';

const freshDir = tempDirsPerTest('state');
const stateDir = async (): Promise<string> => path.join(await freshDir(), 'agent-state');

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
const credential = { gatewayId: GATEWAY_ID, secret: 'sup3r-s3cret-credential' };
const lease = { jws: 'aaa.bbb.ccc', seq: 12, receivedAt: 1_795_000_000_000 };

describe('FileStateStore', () => {
  it('starts empty when nothing was saved yet, without creating anything', async () => {
    const dir = await stateDir();
    const logger = recordingLogger();
    const store = new FileStateStore({ dir, logger });
    expect(await store.loadCredential()).toBeUndefined();
    expect(await store.loadLease()).toEqual({ lastSeq: 0, lease: undefined });
    expect(logger.lines).toEqual([]);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('round-trips credential and lease through a new instance (a restart), files 0600 in a 0700 folder', async () => {
    const dir = await stateDir();
    const store = new FileStateStore({ dir, logger: recordingLogger() });
    await store.saveCredential(credential);
    await store.saveLease(lease);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, 'credential.json'))).toBe(0o600);
    expect(await mode(path.join(dir, 'lease.json'))).toBe(0o600);
    expect((await fs.readdir(dir)).sort()).toEqual(['credential.json', 'lease.json']);

    const reborn = new FileStateStore({ dir, logger: recordingLogger() });
    expect(await reborn.loadCredential()).toEqual(credential);
    expect(await reborn.loadLease()).toEqual({ lastSeq: 12, lease });
  });

  it('overwrites atomically and leaves no temp files', async () => {
    const dir = await stateDir();
    const store = new FileStateStore({ dir, logger: recordingLogger() });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.saveLease({ ...lease, seq: i + 1 })));
    const { lease: loaded } = await store.loadLease();
    expect(loaded?.seq).toBeGreaterThanOrEqual(1);
    expect(await fs.readdir(dir)).toEqual(['lease.json']);
  });

  it('clearLease forgets the lease but keeps the last seq', async () => {
    const dir = await stateDir();
    const store = new FileStateStore({ dir, logger: recordingLogger() });
    await store.saveLease(lease);
    await store.clearLease(12);
    expect(await new FileStateStore({ dir, logger: recordingLogger() }).loadLease()).toEqual({ lastSeq: 12, lease: undefined });
  });

  it('tolerates corrupt and foreign files: reports them, ignores them, never throws', async () => {
    const dir = await stateDir();
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.writeFile(path.join(dir, 'credential.json'), '{"version":1,"credential":{"gatewayId":"x","secret":"sup3r-s3cret', { mode: 0o600 });
    await fs.writeFile(path.join(dir, 'lease.json'), JSON.stringify({ version: 1, lastSeq: -3, lease: { jws: 1 } }), { mode: 0o600 });
    const logger = recordingLogger();
    const store = new FileStateStore({ dir, logger });
    expect(await store.loadCredential()).toBeUndefined();
    expect(await store.loadLease()).toEqual({ lastSeq: 0, lease: undefined });
    expect(logger.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
    expect(logger.lines[1]?.obj).toMatchObject({ issues: expect.arrayContaining(['lastSeq: too_small']) });

    await store.saveCredential(credential);
    expect(await store.loadCredential()).toEqual(credential);
  });

  it('does not log the secret of a credential file with a bad shape', async () => {
    const dir = await stateDir();
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.writeFile(path.join(dir, 'credential.json'), JSON.stringify({ version: 1, credential: { gatewayId: 'not-a-uuid', secret: credential.secret } }));
    const logger = recordingLogger();
    expect(await new FileStateStore({ dir, logger }).loadCredential()).toBeUndefined();
    expect(JSON.stringify(logger.lines)).not.toContain(credential.secret);
  });

  it('restricts loose permissions it finds on its own files and folder', async () => {
    const dir = await stateDir();
    await fs.mkdir(dir, { mode: 0o755 });
    await fs.chmod(dir, 0o755);
    const store = new FileStateStore({ dir, logger: recordingLogger() });
    await store.saveCredential(credential);
    await fs.chmod(path.join(dir, 'credential.json'), 0o644);
    expect(await store.loadCredential()).toEqual(credential);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, 'credential.json'))).toBe(0o600);
  });

  it('refuses to save invalid data instead of writing a file it could not read back', async () => {
    const store = new FileStateStore({ dir: await stateDir(), logger: recordingLogger() });
    await expect(store.saveLease({ ...lease, seq: 0 })).rejects.toThrow();
    await expect(store.saveCredential({ gatewayId: 'nope', secret: 's' })).rejects.toThrow();
  });

  describe('issue 16: the state folder as a root owner could leave it', () => {
    it('the seq high-water mark and the time floor survive the loss of lease.json', async () => {
      const dir = await stateDir();
      const store = new FileStateStore({ dir, logger: recordingLogger() });
      await store.saveLease(lease);
      await store.saveGuard({ highSeq: 12, floorMs: 1_795_000_001_000 });
      await fs.rm(path.join(dir, 'lease.json'));
      const reborn = new FileStateStore({ dir, logger: recordingLogger() });
      expect(await reborn.loadLease()).toEqual({ lastSeq: 0, lease: undefined });
      expect(await reborn.loadGuard()).toEqual({ highSeq: 12, floorMs: 1_795_000_001_000 });
    });

    it("never follows a symbolic link: neither reads through it nor changes the target's mode", async () => {
      const dir = await stateDir();
      const logger = recordingLogger();
      const store = new FileStateStore({ dir, logger });
      await store.saveCredential(credential);
      const outside = path.join(path.dirname(dir), 'outside.json');
      await fs.writeFile(outside, JSON.stringify({ version: 1, credential }), { mode: 0o644 });
      await fs.chmod(outside, 0o644);
      await fs.rm(path.join(dir, 'credential.json'));
      await fs.symlink(outside, path.join(dir, 'credential.json'));
      await store.prepare();
      expect(await store.loadCredential()).toBeUndefined();
      expect(await mode(outside)).toBe(0o644);
      expect(logger.lines.length).toBeGreaterThan(0);
    });

    it('tightens a 0755 folder and 0644 files at boot, before any write', async () => {
      const dir = await stateDir();
      const store = new FileStateStore({ dir, logger: recordingLogger() });
      await store.saveCredential(credential);
      await fs.chmod(dir, 0o755);
      await fs.chmod(path.join(dir, 'credential.json'), 0o644);
      await new FileStateStore({ dir, logger: recordingLogger() }).prepare();
      expect(await mode(dir)).toBe(0o700);
      expect(await mode(path.join(dir, 'credential.json'))).toBe(0o600);
    });
  });
});
