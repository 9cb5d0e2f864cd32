import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEventView, GatewayPage, GatewayView, PoolView } from '../../../shared/protocol/rest.js';
import { ADMIN_TOKEN, randomHardwareId, startHarness, type Harness } from '../../helpers/api-harness.js';
import { cli, json, outcome } from './cli-runner.js';

// Each test spawns several CLI processes (~0.3 s of CPU each, bundled); leave room on a busy two-core machine.
vi.setConfig({ testTimeout: 120_000 });

let h: Harness;
let dir: string;
let env: Record<string, string>;
let poolId: string;
const gw: Record<'press' | 'lathe' | 'spare', { gatewayId: string; credential: string }> = {
  press: { gatewayId: '', credential: '' },
  lathe: { gatewayId: '', credential: '' },
  spare: { gatewayId: '', credential: '' },
};

beforeAll(async () => {
  h = await startHarness();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-cli-gw-'));
  env = { FLOATLEASE_URL: h.url, FLOATLEASE_TOKEN: ADMIN_TOKEN };
  poolId = await h.pool({ name: 'site-b', tags: 120, connections: 10, plugins: ['OPC UA', 'Modbus TCP'] });
  const code = await h.code(poolId, 5);
  for (const name of ['press', 'lathe', 'spare'] as const) {
    const r = await h.api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId: randomHardwareId(), name }, null);
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    gw[name] = r.body;
  }
});
afterAll(async () => {
  await h?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('floatlease gateways, allocate, release', () => {
  it('lists with filters, sorting and paging, and shows one gateway', async () => {
    // The press is online with a lease and reports usage; the others never connected.
    const lease = await h.api('POST', '/api/v1/agent/lease', {}, gw.press.credential);
    expect(lease.status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/usage', { tags: 12, connections: 1 }, gw.press.credential)).status).toBe(204);

    const [table, all, named, sorted, show, showJson, viewerList] = await Promise.all([
      cli(['gateways', 'list'], env),
      cli(['gateways', 'list', '--pool', 'site-b', '--json'], env),
      cli(['gateways', 'list', '--search', 'lat', '--json'], env),
      cli(['gateways', 'list', '--sort', 'name', '--desc', '--limit', '2'], env),
      cli(['gateways', 'show', 'press'], env),
      cli(['gateways', 'show', gw.press.gatewayId, '--json'], env),
      cli(['gateways', 'list', '--online', '--json'], { ...env, FLOATLEASE_TOKEN: await h.token('viewer') }),
    ]);
    for (const r of [table, all, named, sorted, show, showJson, viewerList]) expect(r.code, outcome(r)).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+ID\s+POOL\s+STATE\s+TAGS USED\s+CONNECTIONS USED\s+PLUGINS\s+LEASE\s+LAST SEEN$/m);
    expect(table.stdout).toMatch(new RegExp(`lathe\\s+${gw.lathe.gatewayId}\\s+site-b\\s+offline\\s+-/0\\s+-/0\\s+-\\s+none\\s+never`));
    expect(table.stdout).toMatch(/press .* 12\/0\s+1\/0\s+-\s+\d+ (s|min) left/);
    expect(json<GatewayPage>(all).total).toBe(3);
    expect(json<GatewayPage>(named).items.map((g) => g.name)).toEqual(['lathe']);
    expect(sorted.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['spare', 'press']);
    expect(sorted.stderr).toBe('Showing 2 of 3; next page: --offset 2\n');
    expect(show.stdout).toMatch(/Pool:\s+site-b \(/);
    expect(show.stdout).toMatch(/Hardware ID:\s+\S{44}/);
    expect(show.stdout).toMatch(/Tags used:\s+12\/0/);
    expect(show.stdout).toMatch(/Lease:\s+seq 1, \w+, \d+ (s|min) left/);
    expect(json<GatewayView>(showJson)).toMatchObject({ id: gw.press.gatewayId, usage: { tags: 12, connections: 1 } });
    // Pulling a lease over HTTP does not make a gateway present (only MQTT / Socket.IO do).
    expect(json<GatewayPage>(viewerList)).toEqual({ total: 0, items: [] });
  });

  it('allocates, explains refusals in plain words (points, usage, plugins), forces, and releases', async () => {
    const raise = await cli(['allocate', 'press', '--tags', '100', '--connections', '5', '--plugins', 'OPC UA'], env);
    expect(raise.code, outcome(raise)).toBe(0);
    expect(raise.stdout).toMatch(/Gateway press \(.*\) is allocated tags 100, connections 5, plugins OPC UA\./);
    // The press's agent takes a lease for those points (pull fallback), so they stay held when lowered.
    expect((await h.api('POST', '/api/v1/agent/lease', { renewal: true }, gw.press.credential)).status).toBe(200);

    // F2: only a reserved gateway's raise must fit the free points; mark the lathe reserved (at 0 it holds nothing).
    expect((await h.api('PUT', `/api/v1/gateways/${gw.lathe.gatewayId}/allocation`, { tags: 0, connections: 0, reserved: true })).status).toBe(200);
    const [tooMany, tooManyJson, belowUsage, badPlugin, nothing, unknownId, unknownName, connectionsOnly] = await Promise.all([
      cli(['allocate', 'lathe', '--tags', '500', '--connections', '1'], env),
      cli(['allocate', gw.lathe.gatewayId, '--tags', '500', '--connections', '1', '--json'], env),
      cli(['allocate', 'press', '--tags', '10', '--connections', '5'], env),
      cli(['allocate', 'lathe', '--tags', '1', '--connections', '1', '--plugins', 'BACnet'], env),
      cli(['allocate', 'lathe'], env),
      cli(['allocate', crypto.randomUUID(), '--tags', '1', '--connections', '1'], env),
      cli(['allocate', 'no-such-gateway', '--tags', '1'], env),
      cli(['allocate', 'spare', '--connections', '2', '--json'], env),
    ]);
    expect(tooMany.code, outcome(tooMany)).toBe(5);
    expect(tooMany.stderr).toBe('floatlease: pool site-b lacks the points to reserve: tags requested 500, at most 20 available (20 free)\n');
    expect(tooManyJson.code).toBe(5);
    expect(json<{ name: string; requested: unknown; free: unknown }>(tooManyJson)).toMatchObject({
      name: 'insufficient-points',
      requested: { tags: 500, connections: 1 },
      free: { tags: 20 },
    });
    expect(belowUsage.code, outcome(belowUsage)).toBe(5);
    expect(belowUsage.stderr).toMatch(/^floatlease: lowering below what the gateway uses \(tags 12 in use > 10\) over-uses its lease: .*Send force: true to lower it anyway\n$/);
    expect(badPlugin.code).toBe(2);
    expect(badPlugin.stderr).toMatch(/not enabled by the pool's license: BACnet/);
    expect(nothing.code).toBe(2);
    expect(unknownId.code, outcome(unknownId)).toBe(4);
    expect(unknownId.stderr).toMatch(/^floatlease: gateway [0-9a-f-]{36} does not exist\n$/);
    expect(unknownName.code).toBe(4);
    expect(unknownName.stderr).toBe('floatlease: gateway no-such-gateway does not exist\n');
    expect(connectionsOnly.code, outcome(connectionsOnly)).toBe(0);
    expect(json<GatewayView>(connectionsOnly).allocation).toEqual({ tags: 0, connections: 2, plugins: [] });

    const forced = await cli(['allocate', 'press', '--tags', '10', '--force'], env);
    expect(forced.code, outcome(forced)).toBe(0);
    // The live lease still carries 100 tags: the CLI says the points are still held.
    expect(forced.stdout).toMatch(/allocated tags 10, connections 5, plugins OPC UA\.\nIt still holds tags 100/);

    const [released, releaseJson] = await Promise.all([cli(['release', 'press', '--yes'], env), cli(['release', 'spare', '--yes', '--json'], env)]);
    expect(released.code, outcome(released)).toBe(0);
    expect(released.stdout).toMatch(/Released gateway press\.\nGateway press .* is allocated tags 0, connections 0, plugins -\./);
    expect(json<GatewayView>(releaseJson).allocation.connections).toBe(0);
  });

  it('refuses a license below what the pool holds unless forced, then reports over-commitment', async () => {
    const small = path.join(dir, 'small.jws');
    await fs.writeFile(small, await h.license({ tags: 50, connections: 10, plugins: ['OPC UA'] }));
    const refused = await cli(['pools', 'license', 'site-b', small], env);
    expect(refused.code, outcome(refused)).toBe(5);
    expect(refused.stderr).toMatch(/^floatlease: the new limit is below what the pool holds: tags 100 held > 50 \(short by 50\); upload with force/);
    const forced = await cli(['pools', 'license', 'site-b', small, '--force'], env);
    expect(forced.code, outcome(forced)).toBe(0);
    expect(forced.stdout).toMatch(/Pool site-b is OVER-COMMITTED/);
    const [pool, grant] = await Promise.all([
      cli(['pools', 'show', 'site-b', '--json'], env),
      cli(['allocate', 'lathe', '--tags', '1'], env),
    ]);
    expect(json<PoolView>(pool).overCommitted).toBe(true);
    expect(grant.code).toBe(5);
    expect(grant.stderr).toMatch(/over-committed; no new points are granted/);
  });

  it('decommissions a gateway; later changes are refused', async () => {
    const gone = await cli(['gateways', 'decommission', 'spare', '--yes'], env);
    expect(gone.code, outcome(gone)).toBe(0);
    expect(gone.stdout).toMatch(/Decommissioned gateway spare/);
    const [again, unknown, asViewer] = await Promise.all([
      cli(['allocate', gw.spare.gatewayId, '--tags', '0', '--connections', '0'], env),
      cli(['gateways', 'decommission', crypto.randomUUID(), '--yes'], env),
      cli(['gateways', 'decommission', 'lathe', '--yes'], { ...env, FLOATLEASE_TOKEN: await h.token('operator') }),
    ]);
    expect(again.code, outcome(again)).toBe(5);
    expect(again.stderr).toMatch(/is decommissioned/);
    expect(unknown.code).toBe(4);
    expect(asViewer.code).toBe(3);
    expect(asViewer.stderr).toMatch(/needs the admin role; the token has operator/);
  });
});

describe('floatlease audit', () => {
  it('filters by gateway, pool, action and time, pages with --before, and prints tables or JSON', async () => {
    const [byGateway, byPool, firstPage, timeWindow, badDate, noGateway] = await Promise.all([
      cli(['audit', '--gateway', 'press'], env),
      cli(['audit', '--pool', 'site-b', '--action', 'allocation.changed', '--json'], env),
      cli(['audit', '--limit', '2'], env),
      cli(['audit', '--from', '1h', '--to', '2099-01-01', '--json'], env),
      cli(['audit', '--from', 'yesterday'], env),
      cli(['audit', '--gateway', 'nobody'], env),
    ]);
    for (const r of [byGateway, byPool, firstPage, timeWindow]) expect(r.code, outcome(r)).toBe(0);
    expect(byGateway.stdout).toMatch(/^\s*ID\s+AT\s+ACTOR\s+ACTION\s+SUBJECT\s+CHANGE$/m);
    expect(byGateway.stdout).toMatch(/allocation\.changed\s+press\s+tags 0→100, connections 0→5, plugins \[\]→\[OPC UA\]/);
    expect(byGateway.stdout).toMatch(/allocation\.changed\.forced\s+press\s+tags 100→10/);
    const filtered = json<{ items: AuditEventView[] }>(byPool).items;
    expect(filtered.length).toBeGreaterThanOrEqual(2);
    expect(new Set(filtered.map((e) => e.action))).toEqual(new Set(['allocation.changed']));
    // A full human page: two rows, and the cursor for the next one on stderr.
    expect(firstPage.stdout.trim().split('\n')).toHaveLength(3);
    const cursor = Number(/^More events: add --before (\d+)\n$/.exec(firstPage.stderr)?.[1]);
    expect(Number.isInteger(cursor)).toBe(true);
    expect(json<{ items: unknown[] }>(timeWindow).items.length).toBeGreaterThan(5);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/expected a date such as 2027-01-31/);
    expect(noGateway.code).toBe(4);

    const next = json<{ items: AuditEventView[] }>(await cli(['audit', '--limit', '2', '--before', String(cursor), '--json'], env)).items;
    expect(next).toHaveLength(2);
    expect(Math.max(...next.map((e) => e.id))).toBeLessThan(cursor);
  });
});
