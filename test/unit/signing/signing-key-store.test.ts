import fs from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { SigningKeyError } from '../../../server/signing/key-files.js';
import { SigningKeyStore } from '../../../server/signing/signing-key-store.js';
import { FakeClock } from '../agent/fake-clock.js';
import { recordingLogger, tempDirsPerTest } from './lease-fixtures.js';

const freshDir = tempDirsPerTest('keys');
const keyDir = async (): Promise<string> => path.join(await freshDir(), 'signing-keys');

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

describe('SigningKeyStore', () => {
  it('creates a private folder and a first key (0600) whose kid is the RFC 7638 thumbprint', async () => {
    const dir = await keyDir();
    const store = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    const { kid } = store.current();
    expect(await mode(dir)).toBe(0o700);
    expect(await fs.readdir(dir)).toEqual([`${kid}.json`]);
    expect(await mode(path.join(dir, `${kid}.json`))).toBe(0o600);
    const [jwk] = store.publicJwks().keys;
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid, alg: 'EdDSA', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk?.x ?? '' })).toBe(kid);
  });

  it('loads the same key on the next start instead of creating another', async () => {
    const dir = await keyDir();
    const first = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    const again = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    expect(again.current().kid).toBe(first.current().kid);
    expect(await fs.readdir(dir)).toHaveLength(1);
  });

  it('rotates: the new key signs, the old one is retired but still served, also after a restart', async () => {
    const dir = await keyDir();
    const clock = new FakeClock();
    const store = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    const oldKid = store.current().kid;
    clock.advance(60_000);
    const created = await store.rotate();
    expect(created.kid).not.toBe(oldKid);
    expect(store.current().kid).toBe(created.kid);
    expect(store.publicJwks().keys.map((k) => k.kid)).toEqual([created.kid, oldKid]);
    const oldFile = JSON.parse(await fs.readFile(path.join(dir, `${oldKid}.json`), 'utf8')) as { retiredAt?: string };
    expect(oldFile.retiredAt).toBe(new Date(clock.now()).toISOString());
    expect(await mode(path.join(dir, `${oldKid}.json`))).toBe(0o600);

    const reopened = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    expect(reopened.current().kid).toBe(created.kid);
    expect(reopened.keys().find((k) => k.kid === oldKid)?.retiredAt).toBe(clock.now());
  });

  it('prunes a retired key only after the last lease it signed has expired (plus grace)', async () => {
    const dir = await keyDir();
    const clock = new FakeClock();
    const store = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    const oldKid = store.current().kid;
    await store.rotate();
    const lastExpiry = clock.nowSec() + 300;
    const expiries = new Map([[oldKid, lastExpiry]]);

    expect(await store.prune(lastExpiry + 59, expiries, 60)).toEqual([]);
    expect(store.publicJwks().keys.map((k) => k.kid)).toContain(oldKid);
    expect(await store.prune(lastExpiry + 60, expiries, 60)).toEqual([oldKid]);
    expect(store.publicJwks().keys.map((k) => k.kid)).toEqual([store.current().kid]);
    expect(await fs.readdir(dir)).toEqual([`${store.current().kid}.json`]);
  });

  it('never prunes the signing key, even with no leases recorded', async () => {
    const dir = await keyDir();
    const store = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    expect(await store.prune(Number.MAX_SAFE_INTEGER, new Map())).toEqual([]);
    expect(store.publicJwks().keys).toHaveLength(1);
  });

  it('accepts a PKCS#8 PEM key file and retires it by writing its JSON twin', async () => {
    const dir = await keyDir();
    await fs.mkdir(dir, { mode: 0o700 });
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    await fs.writeFile(path.join(dir, 'operator.pem'), await exportPKCS8(privateKey), { mode: 0o600 });
    const clock = new FakeClock();
    const store = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    const pemKid = await calculateJwkThumbprint(await exportJWK(publicKey));
    expect(store.current().kid).toBe(pemKid);

    const created = await store.rotate();
    const reopened = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    expect(reopened.current().kid).toBe(created.kid);
    expect(reopened.keys().find((k) => k.kid === pemKid)?.retiredAt).toBeDefined();
    expect(reopened.publicJwks().keys).toHaveLength(2);
  });

  it('refuses a key file other users can read, naming the file', async () => {
    const dir = await keyDir();
    const store = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    const file = path.join(dir, `${store.current().kid}.json`);
    await fs.chmod(file, 0o604);
    const err = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigningKeyError);
    expect((err as SigningKeyError).file).toBe(file);
    expect((err as Error).message).toMatch(/other users/);
  });

  it('reports a damaged key file without echoing its content', async () => {
    const dir = await keyDir();
    const store = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() });
    const file = path.join(dir, `${store.current().kid}.json`);
    const doc = JSON.parse(await fs.readFile(file, 'utf8')) as { privateJwk: { d: string } };
    const secret = doc.privateJwk.d;
    doc.privateJwk.d = `${secret.slice(0, -1)}!`;
    await fs.writeFile(file, JSON.stringify(doc));
    const err = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger: recordingLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigningKeyError);
    expect((err as Error).message).toContain('privateJwk.d');
    expect((err as Error).message).not.toContain(secret.slice(0, 20));
  });

  it('never logs private key material', async () => {
    const dir = await keyDir();
    const logger = recordingLogger();
    const store = await SigningKeyStore.open({ dir, clock: new FakeClock(), logger });
    const oldKid = store.current().kid;
    const { d } = (JSON.parse(await fs.readFile(path.join(dir, `${oldKid}.json`), 'utf8')) as { privateJwk: { d: string } }).privateJwk;
    await store.rotate();
    await store.prune(Number.MAX_SAFE_INTEGER, new Map());
    expect(logger.lines.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(logger.lines)).not.toContain(d);
    expect(JSON.stringify(store.current())).not.toContain(d);
    expect(store.current().privateKey.extractable).toBe(false);
  });
});
