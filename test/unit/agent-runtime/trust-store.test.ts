import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../../../agent/state/file-state-store.js';
import { recordingLogger, tempDirsPerTest } from '../signing/lease-fixtures.js';
import { TestSigner } from './fakes.js';

const freshDir = tempDirsPerTest('trust');

describe('FileStateStore trust anchor (pinned JWKS)', () => {
  it('round-trips through a restart, owner-only, and a damaged file reads as absent', async () => {
    const dir = path.join(await freshDir(), 'state');
    const signer = await TestSigner.create();
    try {
      const logger = recordingLogger();
      await new FileStateStore({ dir, logger }).saveTrust(signer.trust());
      expect(await new FileStateStore({ dir, logger }).loadTrust()).toEqual(signer.trust());
      expect((await fs.stat(path.join(dir, 'trust.json'))).mode & 0o777).toBe(0o600);
      await fs.writeFile(path.join(dir, 'trust.json'), '{"version":1,"trust":{"jwks":"nope"}}');
      expect(await new FileStateStore({ dir, logger }).loadTrust()).toBeUndefined();
      expect(logger.lines.at(-1)?.msg).toBe('state file has an unexpected shape; ignoring it');
    } finally {
      await signer.dispose();
    }
  });
});
