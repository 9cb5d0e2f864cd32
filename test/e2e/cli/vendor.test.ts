import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PoolView } from '../../../shared/protocol/rest.js';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { cli, json, outcome } from './cli-runner.js';

// Each test spawns several CLI processes (~0.3 s of CPU each, bundled); leave room on a busy two-core machine.
vi.setConfig({ testTimeout: 60_000 });

const TOKEN = `fl_${'v'.repeat(43)}`;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-cli-vendor-'));
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('floatlease vendor (offline)', () => {
  it('keygen writes a 0600 private key and a public JWK, says how to trust it, and refuses to overwrite', async () => {
    const out = path.join(dir, 'keys');
    const made = await cli(['vendor', 'keygen', '--out', out], {});
    expect(made.code, outcome(made)).toBe(0);
    const key = path.join(out, 'issuer.key.pem');
    const pub = path.join(out, 'issuer.pub.json');
    expect(made.stdout).toContain(`private key  ${key}  (mode 0600`);
    expect(made.stdout).toContain(`TRUSTED_ISSUERS=${pub}`);
    expect(made.stdout).toContain('<DATA_DIR>/trusted-issuers/');
    expect((await fs.stat(key)).mode & 0o777).toBe(0o600);
    const jwk = JSON.parse(await fs.readFile(pub, 'utf8')) as Record<string, unknown>;
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: expect.any(String) });
    expect(jwk).not.toHaveProperty('d');
    expect(await fs.readFile(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const [again, asJson, noOut] = await Promise.all([
      cli(['vendor', 'keygen', '--out', out], {}),
      cli(['vendor', 'keygen', '--out', out, '--name', 'third', '--json'], {}),
      cli(['vendor', 'keygen'], {}),
    ]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite an issuer key \(use --force to replace it\)/);
    expect(json<{ kid: string; privateKeyFile: string }>(asJson)).toMatchObject({ privateKeyFile: path.join(out, 'third.key.pem') });
    expect(noOut.code).toBe(2);
    const overwrite = await cli(['vendor', 'keygen', '--out', out, '--force'], {});
    expect(overwrite.code, outcome(overwrite)).toBe(0);
    expect(JSON.parse(await fs.readFile(pub, 'utf8'))).not.toEqual(jwk);
  });

  it('issue prints or writes a signed pool license and refuses bad input', async () => {
    const out = path.join(dir, 'issue-keys');
    expect((await cli(['vendor', 'keygen', '--out', out], {})).code).toBe(0);
    const key = path.join(out, 'issuer.key.pem');
    const common = ['vendor', 'issue', '--key', key, '--tags', '500', '--connections', '20', '--customer', 'ACME Corp'];
    const file = path.join(dir, 'acme.jws');
    const loose = path.join(dir, 'loose.pem');
    await fs.writeFile(loose, await fs.readFile(key), { mode: 0o644 });
    const [printed, written, asJson, past, missingKey, looseKey] = await Promise.all([
      cli([...common, '--plugins', 'OPC UA,Modbus TCP', '--expires', '2099-12-31'], {}),
      cli([...common, '--expires', '1y', '--out', file, '--issuer', 'Example Vendor'], {}),
      cli([...common, '--expires', '30d', '--ref', 'LIC-42', '--json'], {}),
      cli([...common, '--expires', '2001-01-01'], {}),
      cli([...common.map((a) => (a === key ? path.join(dir, 'nope.pem') : a)), '--expires', '1y'], {}),
      cli([...common.map((a) => (a === key ? loose : a)), '--expires', '1y'], {}),
    ]);
    expect(printed.code, outcome(printed)).toBe(0);
    expect(printed.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(printed.stderr).toMatch(/for ACME Corp: tags 500, connections 20, plugins OPC UA, Modbus TCP, valid until 2099-12-31 00:00:00Z/);
    const payload = JSON.parse(Buffer.from(printed.stdout.trim().split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: 'floatlease-vendor', customer: 'ACME Corp', points: { tags: 500, connections: 20 }, plugins: ['OPC UA', 'Modbus TCP'] });
    expect(written.code, outcome(written)).toBe(0);
    expect(written.stdout).toContain(`Written to ${file}; upload it with: floatlease pools license POOL ${file}`);
    expect((await fs.readFile(file, 'utf8')).trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(json<{ claims: { sub: string } }>(asJson).claims.sub).toBe('LIC-42');
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/--expires .* is in the past/);
    expect(missingKey.code).toBe(2);
    expect(missingKey.stderr).toMatch(/cannot read the issuer key .*nope\.pem: no such file/);
    expect(looseKey.code).toBe(2);
    expect(looseKey.stderr).toMatch(/accessible by other users; chmod 600 it/);
  });
});

describe('floatlease vendor licenses on a real controller', () => {
  let db: TestDatabase;
  let ctl: ControllerProcess;
  const keys = () => path.join(dir, 'ctl-keys');

  beforeAll(async () => {
    expect((await cli(['vendor', 'keygen', '--out', keys(), '--name', 'trusted'], {})).code).toBe(0);
    db = await createTestDatabase();
    ctl = await startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, TRUSTED_ISSUERS: path.join(keys(), 'trusted.pub.json') });
  }, 60_000);
  afterAll(async () => {
    await ctl?.stop();
    await db?.drop();
    if (ctl) await fs.rm(ctl.dataDir, { recursive: true, force: true });
  });

  it('accepts a license from a TRUSTED_ISSUERS key and from a key dropped into <DATA_DIR>/trusted-issuers/, refuses an unknown issuer', async () => {
    const env = { FLOATLEASE_URL: ctl.url, FLOATLEASE_TOKEN: TOKEN };
    const lic = path.join(dir, 'trusted.jws');
    const [issued, created, later] = await Promise.all([
      cli(['vendor', 'issue', '--key', path.join(keys(), 'trusted.key.pem'), '--tags', '800', '--connections', '40', '--plugins', 'OPC UA', '--expires', '1y', '--customer', 'Plant North', '--out', lic], {}),
      cli(['pools', 'create', '--name', 'north'], env),
      cli(['vendor', 'keygen', '--out', keys(), '--name', 'later'], {}),
    ]);
    for (const r of [issued, created, later]) expect(r.code, outcome(r)).toBe(0);
    const upload = await cli(['pools', 'license', 'north', lic, '--json'], env);
    expect(upload.code, outcome(upload)).toBe(0);
    expect(json<PoolView>(upload)).toMatchObject({ capacity: { tags: 800, connections: 40 }, plugins: ['OPC UA'], license: { customer: 'Plant North' } });

    // A second issuer: refused until its public key is in <DATA_DIR>/trusted-issuers/, then accepted without a restart.
    const second = await cli(['vendor', 'issue', '--key', path.join(keys(), 'later.key.pem'), '--tags', '900', '--connections', '40', '--expires', '2y', '--customer', 'Plant North'], {});
    expect(second.code, outcome(second)).toBe(0);
    const refused = await cli(['pools', 'license', 'north', '-'], env, { stdin: second.stdout });
    expect(refused.code, outcome(refused)).toBe(5);
    expect(refused.stderr).toMatch(/which is not a trusted issuer key \(add the vendor public key to TRUSTED_ISSUERS or <DATA_DIR>\/trusted-issuers\/\)/);
    await fs.mkdir(path.join(ctl.dataDir, 'trusted-issuers'), { recursive: true });
    await fs.copyFile(path.join(keys(), 'later.pub.json'), path.join(ctl.dataDir, 'trusted-issuers', 'later.pub.json'));
    const accepted = await cli(['pools', 'license', 'north', '-'], env, { stdin: second.stdout });
    expect(accepted.code, outcome(accepted)).toBe(0);
    expect(accepted.stdout).toMatch(/Pool north now runs on license .* \(Plant North\): tags 900, connections 40/);
    const history = await cli(['pools', 'licenses', 'north'], env);
    expect(history.stdout.trim().split('\n')).toHaveLength(3);
  });
});
