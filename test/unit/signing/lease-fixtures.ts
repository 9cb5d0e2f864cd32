import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LEASE_AUDIENCE, type LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import { hardwareDigest } from '../../../agent/hardware/hardware-id.js';
import { afterEach } from 'vitest';
import type { KeyStoreLogger } from '../../../server/signing/key-files.js';
import { SigningKeyStore, type SigningKeyStoreOptions } from '../../../server/signing/signing-key-store.js';
import { perFile } from '../../helpers/per-file.js';

export const GATEWAY_ID = '6f1c2a7e-3b4d-4e8f-9a0b-1c2d3e4f5a6b';
export const POOL_ID = '0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f';
export const HARDWARE_ID = hardwareDigest('test-machine');

export function leaseClaims(nowSec: number, overrides: Partial<LeaseClaims> = {}): LeaseClaims {
  return {
    iss: 'floatlease-test',
    sub: GATEWAY_ID,
    aud: LEASE_AUDIENCE,
    jti: randomUUID(),
    iat: nowSec,
    nbf: nowSec,
    exp: nowSec + 300,
    seq: 1,
    pool: POOL_ID,
    hwid: HARDWARE_ID,
    points: { tags: 500, connections: 8 },
    plugins: ['modbus-tcp', 'opcua'],
    licenseExpiresAt: nowSec + 86_400,
    ttl: 300,
    ...overrides,
  };
}

export interface LogLine {
  readonly level: 'info' | 'warn';
  readonly obj: object;
  readonly msg: string;
}

/** Keeps every log call so tests can assert what was (and was not) logged. */
export function recordingLogger(): KeyStoreLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `floatlease-${prefix}-`));
}

/** Makes fresh temp dirs (`floatlease-<prefix>-…`); each is removed after the test that made it. */
export function tempDirsPerTest(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });
  return async () => {
    const dir = await tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}

/** The controller's key store in a temp dir of the file (or describe block), removed after it. */
export function keyStorePerFile(prefix: string, clock: SigningKeyStoreOptions['clock'] = { now: Date.now }): SigningKeyStore {
  let dir = '';
  return perFile(
    async () => {
      dir = await tempDir(prefix);
      return SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
    },
    () => fs.rm(dir, { recursive: true, force: true }),
  );
}

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeJwsPart(jws: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
