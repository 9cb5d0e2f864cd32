import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readKeyDir } from '../../../server/signing/key-files.js';

const pem = () => crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const logger = { infos: [] as object[], warns: [] as object[], info(o: object) { this.infos.push(o); }, warn(o: object) { this.warns.push(o); } };

/** Lays a key out as the kubelet mounts a Secret: the file in a timestamped folder, reached through ..data. */
async function secretVolume(dir: string, name: string, mode: number): Promise<void> {
  const stamp = path.join(dir, '..2026_12_01_00_00_00.000000001');
  await fs.mkdir(stamp, { recursive: true });
  await fs.writeFile(path.join(stamp, name), pem(), { mode });
  await fs.chmod(path.join(stamp, name), mode);
  await fs.symlink(path.basename(stamp), path.join(dir, '..data'));
  await fs.symlink(path.join('..data', name), path.join(dir, name));
}

describe('signing key file modes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-key-modes-'));
    logger.infos.length = 0;
    logger.warns.length = 0;
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it.each([
    ['0600: the controller writes its own keys so', 0o600],
    ['0400: a Secret mounted with defaultMode 0400', 0o400],
    ['0440: defaultMode 0400 with fsGroup (the kubelet adds group read)', 0o440],
    ['0640: group-readable, owner-writable', 0o640],
  ])('loads a key file of mode %s', async (_label, mode) => {
    await fs.writeFile(path.join(dir, 'k.pem'), pem());
    await fs.chmod(path.join(dir, 'k.pem'), mode);
    const keys = await readKeyDir(dir, logger);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.pemFile).toBe(path.join(dir, 'k.pem'));
    expect(logger.warns).toEqual([]);
  });

  it.each([
    ['0644', 0o644, /accessible by other users \(mode 0644\).*defaultMode 0400/],
    ['0604', 0o604, /accessible by other users/],
    ['0666', 0o666, /accessible by other users/],
    ['0460', 0o460, /writable by its group \(mode 0460\)/],
    ['0620', 0o620, /writable by its group/],
  ])('refuses a key file of mode %s', async (_label, mode, message) => {
    await fs.writeFile(path.join(dir, 'k.pem'), pem());
    await fs.chmod(path.join(dir, 'k.pem'), mode);
    await expect(readKeyDir(dir, logger)).rejects.toThrow(message);
  });

  it('reads keys through a Secret volume’s ..data symlinks, judging the file the link points at', async () => {
    await secretVolume(dir, 'signing-key.pem', 0o440);
    const keys = await readKeyDir(dir, logger);
    expect(keys.map((k) => k.pemFile)).toEqual([path.join(dir, 'signing-key.pem')]);
    expect(logger.infos).toEqual([expect.objectContaining({ mode: '0440' })]);
  });

  it('refuses a Secret volume mounted with the default mode 0644', async () => {
    await secretVolume(dir, 'signing-key.pem', 0o644);
    await expect(readKeyDir(dir, logger)).rejects.toThrow(/signing-key\.pem: private key is accessible by other users/);
  });
});
