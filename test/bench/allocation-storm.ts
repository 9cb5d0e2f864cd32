/**
 * Agents' lease grants under an allocation storm (issue 15 finding 7): a real controller process
 * (embedded PostgreSQL), `--raises` allocation changes fired at once on one pool, and during it
 * `--agents` gateways of the same pool asking for leases over HTTP, one after another each, until
 * the storm has been answered. Prints the agents' grant latency p50/p99 and the storm's own figures.
 *
 *   node --import tsx test/bench/allocation-storm.ts --raises 1000 --agents 20
 *
 * Measured 2026-12-01, 2 cores busy with a CI run, --raises 300 --agents 10 --targets 10: grants during
 * the storm p50 234 ms, p99 620 ms (n=1184); without the administrative-writes lane p50 24.7 s,
 * p99 24.8 s (n=11: every grant waited out the whole storm).
 */
import { parseArgs } from 'node:util';
import { startBenchController } from './bench-controller.js';
import { distribution, round } from './stats.js';

const { values } = parseArgs({ options: { raises: { type: 'string', default: '1000' }, agents: { type: 'string', default: '20' }, targets: { type: 'string', default: '20' } } });
const raises = Number(values.raises);
const agents = Number(values.agents);
const targets = Number(values.targets);
if (![raises, agents, targets].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--raises, --agents and --targets take positive whole numbers');

const controller = await startBenchController({
  databaseUrl: undefined,
  mqttUrl: undefined,
  mqttUsername: undefined,
  mqttPassword: undefined,
  sweepIntervalMs: 60_000,
  issuer: 'floatlease-bench',
});
try {
  const { admin } = controller;
  const pool = await admin.createPool(`storm-${Date.now()}`, 600, await controller.vendor.license({ tags: 1_000_000, connections: 10_000 }));
  const { code } = await admin.call<{ code: string }>('POST', `/api/v1/pools/${pool.id}/activation-codes`, { seats: agents + targets });
  const enroll = async () => {
    const hardwareId = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    const res = await fetch(`${admin.baseUrl}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ activationCode: code, hardwareId }) });
    if (!res.ok) throw new Error(`enroll: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { gatewayId: string; credential: string };
  };
  const gws: { gatewayId: string; credential: string }[] = [];
  for (let k = 0; k < agents + targets; k++) gws.push(await enroll());
  const agentGws = gws.slice(0, agents);
  const targetGws = gws.slice(agents);
  const grant = async (credential: string) => {
    const t = performance.now();
    const res = await fetch(`${admin.baseUrl}/api/v1/agent/lease`, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, body: '{}' });
    await res.text();
    if (!res.ok) throw new Error(`lease: HTTP ${res.status}`);
    return performance.now() - t;
  };
  const idle = [];
  for (const a of agentGws) idle.push(await grant(a.credential));

  let stormOver = false;
  const apiMs: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  // Own requests, not AdminApi's: its 30 s timeout would cut the tail of a large storm short.
  const storm = Promise.all(
    Array.from({ length: raises }, async (_, i) => {
      const t = performance.now();
      const res = await fetch(`${admin.baseUrl}/api/v1/gateways/${targetGws[i % targets]!.gatewayId}/allocation`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tags: 1 + i, connections: 1 }),
        signal: AbortSignal.timeout(600_000),
      }).catch(() => undefined);
      await res?.text();
      if (res?.ok) apiMs.push(performance.now() - t);
      else failed += 1;
    }),
  ).finally(() => (stormOver = true));
  const during: number[] = [];
  await Promise.all(
    agentGws.map(async (a) => {
      while (!stormOver) during.push(await grant(a.credential));
    }),
  );
  await storm;
  const stormSec = (performance.now() - t0) / 1000;
  const g = distribution(during);
  const i = distribution(idle);
  const s = distribution(apiMs);
  process.stdout.write(
    [
      `allocation storm: ${raises} raises (${failed} failed) in ${round(stormSec, 2)} s; PUT p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms, max ${round(s.max)} ms`,
      `agent grants idle:         n=${i.n} p50 ${round(i.p50)} ms, p99 ${round(i.p99)} ms`,
      `agent grants during storm: n=${g.n} p50 ${round(g.p50)} ms, p99 ${round(g.p99)} ms, max ${round(g.max)} ms`,
    ].join('\n') + '\n',
  );
} finally {
  await controller.stop();
}
