import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbKeyVault } from '../../server/signing/db-key-vault.js';
import { generateEd25519PrivateJwk } from '../../server/signing/ed25519-key.js';
import { SigningKeyStore } from '../../server/signing/signing-key-store.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const logger = pino({ level: 'silent' });

describe('signing keys shared by replicas (database, sealed with a key-encryption key)', () => {
  let db: TestDatabase;
  let dir: string;
  const kek = crypto.randomBytes(32).toString('base64');
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-vault-'));
  });
  afterAll(async () => {
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const open = (name: string, refreshMs = 60_000) =>
    SigningKeyStore.open({ dir: path.join(dir, name), clock: { now: Date.now }, logger, vault: { store: new DbKeyVault(db.database.db, kek), refreshMs } });

  it('a rotation on one replica switches the other within its refresh interval (finding 5: folder keys never switched)', async () => {
    const r1 = await open('r1');
    const r2 = await open('r2', 200);
    try {
      // One key for both: the second replica found the first one's key instead of making its own.
      expect(r2.current().kid).toBe(r1.current().kid);
      const created = await r1.rotate();
      expect(r1.current().kid).toBe(created.kid);
      await waitFor('replica 2 signs with the new key', () => r2.current().kid === created.kid, { timeoutMs: 10_000, intervalMs: 20 });
      expect(r2.keys().find((k) => k.kid !== created.kid)?.retiredAt).toBeDefined();
    } finally {
      r1.close();
      r2.close();
    }
  });

  it('stores only sealed private halves; another key-encryption key or another row cannot open them', async () => {
    const rows = await db.database.sql<{ kid: string; sealed: string }[]>`select kid, sealed_private_jwk as sealed from signing_keys where sealed_private_jwk is not null`;
    expect(rows.length).toBeGreaterThan(0);
    const jwk = await generateEd25519PrivateJwk();
    const vault = new DbKeyVault(db.database.db, kek);
    const sealed = vault.seal('kid-a', jwk);
    expect(sealed).not.toContain(jwk.d);
    expect(vault.open('kid-a', sealed)).toEqual(jwk);
    expect(() => vault.open('kid-b', sealed)).toThrow(/cannot be opened/);
    expect(() => new DbKeyVault(db.database.db, crypto.randomBytes(32).toString('base64')).open('kid-a', sealed)).toThrow(/cannot be opened/);
    for (const r of rows) expect(r.sealed).not.toMatch(/"d"/);
  });
});
