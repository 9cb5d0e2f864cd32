import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActivationCodeView, PoolLicenseView, PoolView } from '../../../shared/protocol/rest.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../../helpers/api-harness.js';
import { freePort } from '../../helpers/ports.js';
import { binVersion, cli, json, outcome } from './cli-runner.js';

// Each test spawns several CLI processes (~0.3 s of CPU each, bundled); leave room on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000 });

let h: Harness;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startHarness();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-cli-'));
  env = { FLOATLEASE_URL: h.url, FLOATLEASE_TOKEN: ADMIN_TOKEN };
});
afterAll(async () => {
  await h?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function licenseFile(name: string, opts: Parameters<Harness['license']>[0]): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `${await h.license(opts)}\n`);
  return file;
}

describe('floatlease pools', () => {
  it('creates, uploads a license from a file and from stdin, lists, shows, updates and lists license history', async () => {
    const created = await cli(['pools', 'create', '--name', 'site-a', '--ttl', '120', '--reclaim', 'on-disconnect', '--overdraft', '1.5', '--json'], env);
    expect(created.code, outcome(created)).toBe(0);
    const pool = json<PoolView>(created);
    expect(pool).toMatchObject({ name: 'site-a', leaseTtlSeconds: 120, reclaim: 'on-disconnect', overdraftFactor: 1.5, license: null });

    const first = await licenseFile('first.jws', { tags: 100, connections: 10, plugins: ['OPC UA'], customer: 'ACME' });
    const upload = await cli(['pools', 'license', 'site-a', first], env);
    expect(upload.code, outcome(upload)).toBe(0);
    expect(upload.stdout).toMatch(/Pool site-a now runs on license .* \(ACME\): tags 100, connections 10, plugins OPC UA/);

    const second = await h.license({ tags: 120, connections: 12, plugins: ['OPC UA', 'Modbus TCP'], customer: 'ACME' });
    const fromStdin = await cli(['pools', 'license', pool.id, '-', '--json'], env, { stdin: second });
    expect(fromStdin.code, outcome(fromStdin)).toBe(0);
    expect(json<PoolView>(fromStdin).capacity).toEqual({ tags: 120, connections: 12 });

    // (The human license history is checked in vendor.test.ts.)
    const [list, listJson, show, historyJson, update] = await Promise.all([
      cli(['pools', 'list'], env),
      cli(['pools', 'list', '--json'], env),
      cli(['pools', 'show', 'site-a'], env),
      cli(['pools', 'licenses', pool.id, '--json'], env),
      cli(['pools', 'update', 'site-a', '--description', 'Plant A', '--alarm-raise', '90%', '--alarm-clear', '0.85', '--json'], env),
    ]);
    for (const r of [list, listJson, show, historyJson, update]) expect(r.code, outcome(r)).toBe(0);
    // Human table: aligned header, limit = capacity x overdraft, utilization as a percentage.
    const [header, row] = list.stdout.split('\n');
    expect(header).toMatch(/^NAME\s+ID\s+TAGS HELD\s+CONNECTIONS HELD\s+GATEWAYS\s+LICENSE UNTIL\s+STATE$/);
    expect(row).toContain('site-a');
    expect(row).toContain('0/180 (0%)');
    expect(row).toContain('0/18 (0%)');
    expect(row).toContain('0/0 online');
    expect(header?.indexOf('ID')).toBe(row?.indexOf(pool.id));
    expect(json<PoolView[]>(listJson).map((p) => p.name)).toEqual(['site-a']);
    expect(show.stdout).toMatch(/Reclaim:\s+on-disconnect/);
    expect(show.stdout).toMatch(/Overdraft:\s+x1\.5/);
    expect(show.stdout).toMatch(/Plugins:\s+OPC UA, Modbus TCP/);
    expect(show.stdout).toMatch(/^POINTS\s+CAPACITY\s+LIMIT\s+ALLOCATED\s+HELD\s+PENDING\s+IN USE\s+FREE\s+UTILIZATION$/m);
    expect(show.stdout).toMatch(/tags\s+120\s+180\s+0\s+0\s+0\s+0\s+180\s+0%/);
    const licenses = json<PoolLicenseView[]>(historyJson);
    expect(licenses.map((l) => [l.points.tags, l.replacedAt === null])).toEqual([
      [120, true],
      [100, false],
    ]);
    expect(json<PoolView>(update)).toMatchObject({ description: 'Plant A', alarmRaiseRatio: 0.9, alarmClearRatio: 0.85, leaseTtlSeconds: 120 });
  });

  it('refuses bad input with the right exit codes and one clear line', async () => {
    // (An untrusted license is refused in vendor.test.ts, against a real controller process.)
    const [duplicate, noChange, unknownName, missingFile, badTtl, unknownId] = await Promise.all([
      cli(['pools', 'create', '--name', 'site-a'], env),
      cli(['pools', 'update', 'site-a'], env),
      cli(['pools', 'show', 'no-such-pool'], env),
      cli(['pools', 'license', 'site-a', path.join(dir, 'missing.jws')], env),
      cli(['pools', 'create', '--name', 'x', '--ttl', '5'], env),
      cli(['pools', 'show', crypto.randomUUID(), '--json'], env),
    ]);
    expect(duplicate.code, outcome(duplicate)).toBe(5);
    expect(duplicate.stderr).toBe('floatlease: a pool named "site-a" already exists\n');
    expect(noChange.code).toBe(2);
    expect(noChange.stderr).toMatch(/nothing to change/);
    expect(unknownName.code).toBe(4);
    expect(unknownName.stderr).toMatch(/^floatlease: pool no-such-pool does not exist \(pools: site-a\)\n$/);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/cannot read .*missing\.jws: no such file/);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toMatch(/--ttl.*expected a whole number from 15 to 86400/);
    expect(unknownId.code).toBe(4);
    expect(unknownId.stderr).toMatch(/^floatlease: pool [0-9a-f-]{36} does not exist\n$/);
    expect(json<{ name: string; status: number; exitCode: number }>(unknownId)).toMatchObject({ name: 'not-found', status: 404, exitCode: 4 });
    for (const r of [duplicate, noChange, unknownName, missingFile, badTtl]) expect(r.stderr.trim().split('\n'), outcome(r)).toHaveLength(1);
  });
});

describe('floatlease codes', () => {
  it('creates a code shown once, lists it with seats used, shows the seats, and revokes it', async () => {
    const poolId = await h.pool({ name: 'site-codes' });
    const [plain, asJson] = await Promise.all([
      cli(['codes', 'create', 'site-codes', '--seats', '3', '--label', 'line 1', '--expires', '30d'], env),
      cli(['codes', 'create', poolId, '--seats', '1', '--json'], env),
    ]);
    expect(plain.code, outcome(plain)).toBe(0);
    const code = plain.stdout.trim();
    expect(code.split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/3 seat\(s\), expires .*shown only once/);
    expect(asJson.code, outcome(asJson)).toBe(0);
    expect(json<{ code: string; seats: number }>(asJson)).toMatchObject({ seats: 1, code: expect.any(String) });

    const enrolled = await h.enroll(code);
    const listed = json<ActivationCodeView[]>(await cli(['codes', 'list', 'site-codes', '--json'], env));
    const line1 = listed.find((c) => c.label === 'line 1');
    expect(line1).toMatchObject({ seats: 3, seatsUsed: 1 });
    const id = line1?.id ?? '';

    const [table, seats] = await Promise.all([cli(['codes', 'list', 'site-codes'], env), cli(['codes', 'seats', id], env)]);
    expect(table.code, outcome(table)).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+CODE\s+LABEL\s+SEATS USED\s+EXPIRES\s+CREATED\s+BY\s+STATE$/m);
    expect(table.stdout).toMatch(/line 1\s+1\/3\s+.*active/);
    expect(table.stdout).not.toContain(code);
    expect(seats.stdout.trim().split('\n')).toHaveLength(2);
    expect(seats.stdout).toContain(enrolled.gatewayId);

    const revoked = await cli(['codes', 'revoke', id], env);
    expect(revoked.code, outcome(revoked)).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked activation code .* 1 enrolled gateway\(s\) keep working/);
    const after = await cli(['codes', 'list', 'site-codes'], env);
    expect(after.stdout).toMatch(/line 1\s+1\/3\s+.*revoked/);

    const [notUuid, unknown, past] = await Promise.all([
      cli(['codes', 'revoke', 'abc'], env),
      cli(['codes', 'revoke', crypto.randomUUID()], env),
      cli(['codes', 'create', 'site-codes', '--seats', '1', '--expires', '2001-01-01'], env),
    ]);
    expect(notUuid.code).toBe(2);
    expect(notUuid.stderr).toMatch(/too short to name an activation code/);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/activation code .* does not exist/);
    expect(past.code, outcome(past)).toBe(2);
    expect(past.stderr).toBe('floatlease: --expires: must be in the future\n');
  });
});

describe('floatlease tokens and authentication', () => {
  it('creates a token shown once, uses it, lists without secrets, revokes it; bad and weak tokens exit 3', async () => {
    const created = await cli(['tokens', 'create', '--name', 'ci', '--role', 'viewer', '--expires', '90d'], env);
    expect(created.code, outcome(created)).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^fl_/);
    expect(created.stderr).toMatch(/\(ci, viewer\) created, expires .*shown only once/);
    const viewer = { FLOATLEASE_URL: h.url, FLOATLEASE_TOKEN: token };

    const [who, list, listJson, viewerWrite, badToken, noToken, flagWins] = await Promise.all([
      cli(['whoami', '--json'], viewer),
      cli(['tokens', 'list'], env),
      cli(['tokens', 'list', '--json'], env),
      cli(['pools', 'create', '--name', 'nope'], viewer),
      cli(['pools', 'list'], { ...env, FLOATLEASE_TOKEN: `fl_${'b'.repeat(43)}` }),
      cli(['pools', 'list'], { FLOATLEASE_URL: h.url }),
      cli(['whoami', '--token', token], env),
    ]);
    expect(who.code, outcome(who)).toBe(0);
    expect(json<{ name: string; role: string }>(who)).toMatchObject({ name: 'ci', role: 'viewer' });
    expect(list.code, outcome(list)).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+PREFIX\s+CREATED\s+EXPIRES\s+LAST USED\s+STATE$/m);
    expect(list.stdout).toMatch(/ci\s+viewer/);
    const tokens = json<{ id: string; name: string }[]>(listJson);
    for (const r of [list, listJson, who, viewerWrite, badToken]) {
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(r.stdout + r.stderr).not.toContain(ADMIN_TOKEN);
    }
    expect(viewerWrite.code).toBe(3);
    expect(viewerWrite.stderr).toBe('floatlease: not allowed: this needs the admin role; the token has viewer\n');
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toBe('floatlease: authentication failed: the bearer token is not valid (check --token or FLOATLEASE_TOKEN)\n');
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toMatch(/no API token: pass --token or set FLOATLEASE_TOKEN/);
    expect(flagWins.stdout).toMatch(/^ci \(viewer, via \w+\)\n$/);

    const id = tokens.find((t) => t.name === 'ci')?.id ?? '';
    const revoked = await cli(['tokens', 'revoke', id], env);
    expect(revoked.code, outcome(revoked)).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked API token ci/);
    const [afterRevoke, badRole] = await Promise.all([cli(['whoami'], viewer), cli(['tokens', 'create', '--name', 'x', '--role', 'root'], env)]);
    expect(afterRevoke.code).toBe(3);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/Allowed choices are viewer, operator, admin/);
  });
});

describe('floatlease usage and connectivity errors', () => {
  it('exits 6 when the controller is unreachable, 2 on bad flags, 0 on --help', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [unreachable, unreachableJson, badUrl, unknownOption, unknownCommand, missingSub, help, bin] = await Promise.all([
      cli(['pools', 'list'], { FLOATLEASE_URL: closed, FLOATLEASE_TOKEN: ADMIN_TOKEN }),
      cli(['gateways', 'list', '--url', closed, '--json'], { FLOATLEASE_TOKEN: ADMIN_TOKEN }),
      cli(['pools', 'list', '--url', 'ftp://x'], env),
      cli(['pools', 'list', '--bogus'], env),
      cli(['poolz'], env),
      cli(['codes'], env),
      // As `npm run cli` runs it: the TypeScript sources through tsx.
      cli(['--help'], {}, { via: 'tsx' }),
      binVersion(),
    ]);
    expect(unreachable.code, outcome(unreachable)).toBe(6);
    expect(unreachable.stderr).toBe(`floatlease: cannot reach the controller at ${closed} (ECONNREFUSED); check --url or FLOATLEASE_URL\n`);
    expect(unreachableJson.code).toBe(6);
    expect(json<{ name: string }>(unreachableJson).name).toBe('controller-unreachable');
    expect(badUrl.code).toBe(2);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toBe("floatlease: unknown option '--bogus' (see --help)\n");
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/unknown command 'poolz'.*Did you mean pools\?/s);
    expect(missingSub.code).toBe(2);
    expect(missingSub.stderr).toMatch(/Usage: floatlease codes/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {2}success/);
    expect(help.stdout).toContain('FLOATLEASE_TOKEN');
    expect(bin).toBe('0.1.0\n');
  });
});
