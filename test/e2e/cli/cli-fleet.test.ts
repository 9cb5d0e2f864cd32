import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActivationCodeView, AuditEventView, GatewayPage, GatewayView } from '../../../shared/protocol/rest.js';
import { ADMIN_TOKEN, useHarness } from '../../helpers/api-harness.js';
import { cli, json, outcome } from './cli-runner.js';

vi.setConfig({ testTimeout: 120_000 });

const h = useHarness();
let env: Record<string, string>;
let poolA: string;
let poolB: string;

const enroll = async (poolId: string, name: string) => {
  const g = await h.enroll(await h.code(poolId, 1));
  expect((await h.api('PATCH', `/api/v1/gateways/${g.gatewayId}`, { name })).status).toBe(200);
  return g;
};
const audit = async (q: string) => (await h.api<{ items: AuditEventView[] }>('GET', `/api/v1/audit?${q}`)).body.items;

beforeAll(async () => {
  env = { FLOATLEASE_URL: h.url, FLOATLEASE_TOKEN: ADMIN_TOKEN };
  poolA = await h.pool({ name: 'fleet-a', tags: 500, connections: 20 });
  poolB = await h.pool({ name: 'fleet-b', tags: 500, connections: 20 });
});

/** Issue 20 finding 10: the CLI as a fleet administrator uses it every day. */
describe('floatlease CLI for a fleet', () => {
  it('lists every pool’s codes without a pool, and revokes by the shown FLAC-… prefix, once', async () => {
    await h.code(poolA, 2);
    await h.code(poolB, 3);
    const [table, all] = await Promise.all([cli(['codes', 'list'], env), cli(['codes', 'list', '--json'], env)]);
    expect(table.code, outcome(table)).toBe(0);
    expect(table.stdout).toMatch(/^POOL\s+ID\s+CODE/m);
    expect(table.stdout).toMatch(/fleet-a\s/);
    expect(table.stdout).toMatch(/fleet-b\s/);
    const codes = json<ActivationCodeView[]>(all);
    const target = codes.find((c) => c.poolId === poolB && c.seats === 3)!;
    const shown = new RegExp(`(${target.codePrefix.replace(/[-]/g, '\\-')}…)`).exec(table.stdout)![1]!;
    expect(shown.startsWith('FLAC-')).toBe(true);

    const revoked = await cli(['codes', 'revoke', shown], env);
    expect(revoked.code, outcome(revoked)).toBe(0);
    expect(revoked.stdout).toContain(target.id);
    const again = await cli(['codes', 'revoke', target.codePrefix], env);
    expect(again.code, outcome(again)).toBe(5);
    expect(again.stderr).toMatch(/already revoked/);
    expect((await audit('action=activation-code.revoked')).filter((e) => e.poolId === poolB)).toHaveLength(1);
    const unknown = await cli(['codes', 'revoke', 'FLAC-ZZZZZZZZ'], env);
    expect(unknown.code, outcome(unknown)).toBe(4);
  });

  it('asks before release and decommission: without a terminal they need --yes and change nothing', async () => {
    const g = await enroll(poolA, 'press-confirm');
    expect((await h.api('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, { tags: 40, connections: 2 })).status).toBe(200);
    const [release, decommission] = await Promise.all([cli(['release', 'press-confirm'], env), cli(['gateways', 'decommission', 'press-confirm'], env)]);
    for (const r of [release, decommission]) {
      expect(r.code, outcome(r)).toBe(2);
      expect(r.stderr).toMatch(/not confirmed; pass --yes/);
    }
    expect(release.stderr).toMatch(/trial allowance of 30 tags/);
    const still = (await h.api<GatewayView>('GET', `/api/v1/gateways/${g.gatewayId}`)).body;
    expect(still.allocation.tags).toBe(40);
    expect(still.decommissionedAt).toBeNull();

    const released = await cli(['release', 'press-confirm', '--yes'], env);
    expect(released.code, outcome(released)).toBe(0);
    expect((await audit(`gatewayId=${g.gatewayId}&action=allocation.released`)).length).toBe(1);

    const gone = await cli(['gateways', 'decommission', 'press-confirm', '-y'], env);
    expect(gone.code, outcome(gone)).toBe(0);
    const [list, show, twice] = await Promise.all([
      cli(['gateways', 'list', '--search', 'press-confirm'], env),
      cli(['gateways', 'show', g.gatewayId], env),
      cli(['gateways', 'decommission', g.gatewayId, '--yes'], env),
    ]);
    expect(list.stdout).toMatch(/press-confirm .* decommissioned \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(show.stdout).toMatch(/State:\s+decommissioned/);
    expect(twice.code, outcome(twice)).toBe(5);
    expect(twice.stderr).toMatch(/already decommissioned/);
  });

  it('keeps the unspecified kind when it is already below usage (after a release)', async () => {
    const g = await enroll(poolA, 'press-keep');
    expect((await h.api('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, { tags: 40, connections: 2 })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/usage', { tags: 20, connections: 1 }, g.credential)).status).toBe(204);
    expect((await cli(['release', 'press-keep', '--yes'], env)).code).toBe(0);
    const raised = await cli(['allocate', 'press-keep', '--tags', '50', '--json'], env);
    expect(raised.code, outcome(raised)).toBe(0);
    expect(json<GatewayView>(raised).allocation).toMatchObject({ tags: 50, connections: 0 });
    // Lowering a kind below its usage is still refused.
    const lowered = await cli(['allocate', 'press-keep', '--tags', '10'], env);
    expect(lowered.code, outcome(lowered)).toBe(5);
    expect(lowered.stderr).toMatch(/tags 20 in use > 10/);
  });

  it('renames gateways, lists and rotates signing keys, prints times to the second and exp as ISO', async () => {
    const g = await enroll(poolB, 'old-name');
    const renamed = await cli(['gateways', 'rename', 'old-name', 'new-name'], env);
    expect(renamed.code, outcome(renamed)).toBe(0);
    expect((await h.api<GatewayView>('GET', `/api/v1/gateways/${g.gatewayId}`)).body.name).toBe('new-name');

    const keys = await cli(['keys', 'list', '--json'], env);
    expect(keys.code, outcome(keys)).toBe(0);
    const before = json<{ kid: string; signing: boolean }[]>(keys).find((k) => k.signing)!.kid;
    const rotated = await cli(['keys', 'rotate', '--yes'], env);
    expect(rotated.code, outcome(rotated)).toBe(0);
    expect(rotated.stdout).toMatch(/^KID\s+CREATED\s+RETIRED\s+STATE$/m);
    const after = json<{ kid: string; signing: boolean }[]>(await cli(['keys', 'list', '--json'], env));
    expect(after.find((k) => k.signing)!.kid).not.toBe(before);
    expect((await cli(['keys', 'rotate'], env)).code).toBe(2);

    expect((await h.api('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, { tags: 5, connections: 1 })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/lease', {}, g.credential)).status).toBe(200);
    const table = await cli(['audit', '--gateway', 'new-name'], env);
    expect(table.code, outcome(table)).toBe(0);
    expect(table.stdout).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    const granted = table.stdout.split('\n').find((l) => l.includes('lease.granted')) ?? '';
    expect(granted, table.stdout).toMatch(/exp \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(granted).not.toMatch(/exp \d{9,}/);
  });

  it('allocates many gateways from a CSV file in one all-or-nothing request', async () => {
    await fs.mkdir('dist', { recursive: true });
    const [a, b, c] = [await enroll(poolB, 'csv-1'), await enroll(poolB, 'csv-2'), await enroll(poolB, 'csv-3')];
    const dir = await fs.mkdtemp(path.resolve('dist/test-csv-'));
    try {
      const good = path.join(dir, 'good.csv');
      await fs.writeFile(good, `gateway,tags,connections,plugins\ncsv-1,100,2,\n${b.gatewayId},50,,\n# a comment\ncsv-3,,3,\n`);
      const set = await cli(['allocate', '--from-csv', good], env);
      expect(set.code, outcome(set)).toBe(0);
      expect(set.stdout).toContain('Set the allocations of 3 gateway(s) in one transaction.');
      const get = async (id: string) => (await h.api<GatewayView>('GET', `/api/v1/gateways/${id}`)).body.allocation;
      expect(await get(a.gatewayId)).toMatchObject({ tags: 100, connections: 2 });
      expect(await get(b.gatewayId)).toMatchObject({ tags: 50, connections: 0 });
      expect(await get(c.gatewayId)).toMatchObject({ tags: 0, connections: 3 });

      const tooMuch = path.join(dir, 'too-much.csv');
      await fs.writeFile(tooMuch, 'gateway,tags\ncsv-1,10\ncsv-2,1000\n');
      // F2: only a reserved gateway's raise must fit the free points; csv-2 reserves its 50 tags.
      expect((await h.api('PUT', `/api/v1/gateways/${b.gatewayId}/allocation`, { tags: 50, connections: 0, reserved: true })).status).toBe(200);
      const refused = await cli(['allocate', '--from-csv', tooMuch, '--add'], env);
      expect(refused.code, outcome(refused)).toBe(5);
      expect(refused.stderr).toMatch(/csv-2 \([0-9a-f-]{36}\): pool fleet-b lacks the points to reserve: tags requested 1050.*short by \d+\); nothing was changed/);
      expect(await get(a.gatewayId)).toMatchObject({ tags: 100 });

      const bad = path.join(dir, 'bad.csv');
      await fs.writeFile(bad, 'gateway,tags\ncsv-1,lots\n');
      const badRun = await cli(['allocate', '--from-csv', bad], env);
      expect(badRun.code).toBe(2);
      expect(badRun.stderr).toMatch(/CSV line 2: tags must be a whole number/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('runs compiled (the cli:build bundle) with the same results', async () => {
    await fs.mkdir('dist', { recursive: true });
    // Inside the checkout, as dist/ is: the bundle finds its packages in node_modules.
    await fs.mkdir('dist', { recursive: true });
    const out = await fs.mkdtemp(path.resolve('dist/test-cli-'));
    try {
      const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
      const args = pkg.scripts['cli:build']!.split(/\s+/).slice(1).map((a) => (a.startsWith('--outdir=') ? `--outdir=${out}` : a));
      await promisify(execFile)(path.resolve('node_modules/.bin/esbuild'), args);
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(out, 'main.mjs'), 'gateways', 'list', '--json'], {
        env: { PATH: process.env.PATH ?? '', ...env },
        cwd: '/',
      });
      expect((JSON.parse(stdout) as GatewayPage).total).toBeGreaterThanOrEqual(3);
      // The bundle leaves packages to node_modules and carries no TypeScript loader.
      expect(await fs.readFile(path.join(out, 'main.mjs'), 'utf8')).not.toContain('tsx');
    } finally {
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});
