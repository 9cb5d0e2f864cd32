import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerProcess } from '../helpers/controller-process.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { metric, parsePromText } from '../helpers/prom-text.js';
import type { TestDatabase } from '../helpers/test-database.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'m'.repeat(43)}`;
const hw = () => crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');
const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;

let stack: ControllerStack;
let db: TestDatabase;
let ctl: ControllerProcess;
const api = restClient(() => ctl.url, ADMIN);
const scrape = async () => {
  const res = await fetch(`${ctl.url}/metrics`);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
};

beforeAll(async () => {
  stack = await startControllerStack({ name: 'metrics', admin: ADMIN, env: { SWEEP_INTERVAL_MS: '200' } });
  ({ ctl, db } = stack);
  const a = (await stack.pool('site-a', { tags: 100, connections: 10 }, { seats: 1 })).poolId;
  const b = (await stack.pool('site-b', { tags: 50, connections: 5 }, { seats: 1 })).poolId;
  const gateway = async (poolId: string, tags: number, connections: number) => {
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 1 })).body.code;
    const gw = (await api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId: hw() })).body;
    expect((await api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags, connections })).status).toBe(200);
    const lease = await api<{ jti: string }>('POST', '/api/v1/agent/lease', {}, gw.credential);
    await api('POST', '/api/v1/agent/lease/ack', { jti: lease.body.jti }, gw.credential);
    return { ...gw, jti: lease.body.jti };
  };
  const a1 = await gateway(a, 20, 2);
  await gateway(a, 30, 3);
  const a3 = await gateway(a, 10, 1);
  await gateway(b, 25, 2);
  const b2 = await gateway(b, 5, 1);
  expect((await api('POST', '/api/v1/agent/usage', { tags: 15, connections: 1 }, a1.credential)).status).toBe(204);
  // One release (a3) and one expiry (b2, whose allocation was taken back first).
  expect((await api<{ released: number }>('POST', '/api/v1/agent/lease/release', undefined, a3.credential)).body.released).toBe(1);
  expect((await api('PUT', `/api/v1/gateways/${b2.gatewayId}/allocation`, { tags: 0, connections: 0 })).status).toBe(200);
  await db.database.sql`update leases set expires_at = now() - interval '1 second' where id = ${b2.jti}`;
  await waitFor('expiry swept', async () => parsePromText(await scrape()).get('floatlease_leases_expired_total') === 1, { timeoutMs: 5_000 });
}, 60_000);

afterAll(() => stack?.close());

describe('controller /metrics', () => {
  it('reports exactly the expected pool gauges and lease counters', async () => {
    // The pool snapshot is cached for 1 s: wait until it shows the setup's last change (b2's lease expired).
    const m = await waitFor('the pool snapshot after the expiry', async () => {
      const scraped = parsePromText(await scrape());
      return scraped.get(metric('floatlease_pool_active_leases', { pool: 'site-b' })) === 1 ? scraped : undefined;
    }, { intervalMs: 100 });
    const expected: [string, Record<string, string>, number][] = [
      ['floatlease_pool_capacity_points', { pool: 'site-a', kind: 'tags' }, 100],
      ['floatlease_pool_capacity_points', { pool: 'site-a', kind: 'connections' }, 10],
      ['floatlease_pool_capacity_points', { pool: 'site-b', kind: 'tags' }, 50],
      ['floatlease_pool_limit_points', { pool: 'site-b', kind: 'connections' }, 5],
      ['floatlease_pool_allocated_points', { pool: 'site-a', kind: 'tags' }, 60],
      ['floatlease_pool_allocated_points', { pool: 'site-a', kind: 'connections' }, 6],
      ['floatlease_pool_allocated_points', { pool: 'site-b', kind: 'tags' }, 25],
      ['floatlease_pool_allocated_points', { pool: 'site-b', kind: 'connections' }, 2],
      // Points float (F2): a3 released its lease, so its 10 tags are allocated but no longer held.
      ['floatlease_pool_held_points', { pool: 'site-a', kind: 'tags' }, 50],
      ['floatlease_pool_points', { pool: 'site-a', kind: 'tags', state: 'held' }, 50],
      ['floatlease_pool_points', { pool: 'site-a', kind: 'tags', state: 'allocated' }, 60],
      ['floatlease_pool_points', { pool: 'site-a', kind: 'tags', state: 'in_use' }, 15],
      ['floatlease_pool_held_points', { pool: 'site-b', kind: 'tags' }, 25],
      ['floatlease_pool_held_points', { pool: 'site-b', kind: 'connections' }, 2],
      ['floatlease_pool_in_use_points', { pool: 'site-a', kind: 'tags' }, 15],
      ['floatlease_pool_in_use_points', { pool: 'site-a', kind: 'connections' }, 1],
      ['floatlease_pool_in_use_points', { pool: 'site-b', kind: 'tags' }, 0],
      ['floatlease_pool_utilization_ratio', { pool: 'site-a', kind: 'tags' }, 0.5],
      ['floatlease_pool_utilization_ratio', { pool: 'site-b', kind: 'connections' }, 0.4],
      ['floatlease_pool_utilization_alarm', { pool: 'site-a', kind: 'tags' }, 0],
      ['floatlease_pool_active_leases', { pool: 'site-a' }, 2],
      ['floatlease_pool_active_leases', { pool: 'site-b' }, 1],
      ['floatlease_pool_gateways', { pool: 'site-a' }, 3],
      ['floatlease_pool_gateways', { pool: 'site-b' }, 2],
      ['floatlease_pool_over_committed', { pool: 'site-a' }, 0],
      ['floatlease_leases_issued_total', { reason: 'grant' }, 5],
      ['floatlease_leases_released_total', {}, 1],
      ['floatlease_leases_expired_total', {}, 1],
      ['floatlease_leases_superseded_total', {}, 0],
      ['floatlease_reclaimed_points_total', { kind: 'tags', reason: 'released' }, 10],
      ['floatlease_reclaimed_points_total', { kind: 'connections', reason: 'released' }, 1],
      ['floatlease_reclaimed_points_total', { kind: 'tags', reason: 'expired' }, 5],
      ['floatlease_reclaimed_points_total', { kind: 'connections', reason: 'expired' }, 1],
      ['floatlease_lease_issue_duration_seconds_count', { reason: 'grant' }, 5],
    ];
    for (const [name, labels, value] of expected) {
      expect({ series: metric(name, labels), value: m.get(metric(name, labels)) }).toEqual({ series: metric(name, labels), value });
    }
    expect([...m.keys()].some((k) => k.startsWith('floatlease_http_request_duration_seconds_count{') && k.includes('route="/api/v1/pools/:id/license"'))).toBe(true);
    expect([...m.keys()].some((k) => k.startsWith('process_cpu_seconds_total'))).toBe(true);
    // Bounded labels: no gateway id anywhere in the exposition.
    const ids = (await api<{ items: { id: string }[] }>('GET', '/api/v1/gateways')).body.items.map((g) => g.id);
    const text = await scrape();
    expect(ids.filter((id) => text.includes(id))).toEqual([]);
  });

  it.skipIf(!promtool)('passes promtool check metrics (prom-client’s nodejs_active_*_total naming filtered out)', async () => {
    const text = await scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
    const findings = (r.stdout.toString() + r.stderr.toString())
      .split('\n')
      .filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l.trim()));
    expect(findings).toEqual([]);
  });

  it('alert rules and the Grafana dashboard reference only series the controller exports', async () => {
    const files = path.resolve(import.meta.dirname, '../../helm/floatlease/files');
    const rules = await fs.readFile(path.join(files, 'prometheus-rules.yaml'), 'utf8');
    const dashboard = JSON.parse(await fs.readFile(path.join(files, 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = [rules, ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))].join('\n');
    const referenced = [...new Set(exprs.match(/\b(floatlease|process)_[a-z_]+/g) ?? [])];
    expect(referenced.length).toBeGreaterThan(10);
    const exported = new Set([...parsePromText(await scrape()).keys()].map((k) => k.replace(/\{.*$/, '')));
    expect(referenced.filter((n) => !exported.has(n))).toEqual([]);
    if (promtool) {
      const r = spawnSync('promtool', ['check', 'rules', path.join(files, 'prometheus-rules.yaml')]);
      expect({ status: r.status, out: r.stdout.toString() }).toMatchObject({ status: 0 });
    }
  });
});
