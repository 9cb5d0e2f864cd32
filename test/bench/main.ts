import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { startBenchController, type BenchController } from './bench-controller.js';
import type { BenchContext } from './bench-context.js';
import { brokerCeiling, postgresCeilings, signingCeilings, type Ceilings } from './ceilings.js';
import { scrapeLeaseTimings } from './controller-scrape.js';
import { probeLeaseEngine } from './engine-probe.js';
import { prepareFleet } from './fleet-setup.js';
import type { Fleet } from './fleet.js';
import { BenchUsageError, parseBenchOptions, type BenchOptions } from './options.js';
import { allocationLatency } from './phases/alloc-latency.js';
import { deliveryWave } from './phases/delivery-wave.js';
import { releaseToFree } from './phases/release.js';
import { silentLoss } from './phases/silent-loss.js';
import { steadyRenewal } from './phases/steady.js';
import { connectStorm } from './phases/storm.js';
import { reissueWave } from './phases/wave.js';
import { sampleDescendants, sampleProcess } from './proc-stats.js';
import { formatReport, machineInfo, smallestCeiling, type BenchReport } from './report.js';
import { sleep } from './stats.js';

const ISSUER = 'floatlease-bench';
const started = Date.now();
const log = (m: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

let controller: BenchController | undefined;
let fleet: Fleet | undefined;
let sql: postgres.Sql | undefined;
let cleaning: Promise<void> | undefined;

/** Stops what this run started: workers first, then the controller (which stops its PostgreSQL). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await fleet?.stop(3_000).catch(() => fleet?.killAll());
    await sql?.end({ timeout: 2 }).catch(() => undefined);
    if (controller) {
      const pid = controller.process.child.pid;
      // Remember the embedded PostgreSQL's pids in case the controller must be killed.
      const orphans = pid ? descendantPids(pid) : [];
      await controller.stop().catch(() => undefined);
      for (const p of orphans) killQuietly(p);
    }
  })();
  return cleaning;
}

function descendantPids(pid: number): number[] {
  const d = sampleDescendants(pid);
  return d.pids;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => fleet?.killAll());

async function measureCeilings(o: BenchOptions, c: BenchController): Promise<Ceilings> {
  log('ceilings: Ed25519 signing');
  const signing = await signingCeilings(2_000);
  log('ceilings: PostgreSQL single-row INSERT commits');
  const pg = await postgresCeilings(c.databaseUrl, 3_000, 8);
  log('ceilings: broker QoS 1 publishes');
  const broker = await brokerCeiling(3_000, o.mqttUrl ? { url: o.mqttUrl, username: o.mqttUsername, password: o.mqttPassword } : undefined);
  return { ...signing, ...pg, ...broker };
}

/** With BENCH_PROFILE_PHASE=name, the profile hooks (cpu-profile-hook.ts) cover only that phase. */
async function profiled<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  const on = process.env.BENCH_PROFILE_PHASE === phase;
  const pids = () => [controller?.process.child.pid, ...(process.env.BENCH_PROFILE_FLEET === '1' ? (fleet?.workerPids() ?? []) : [])];
  const toggle = () => {
    for (const pid of pids()) if (pid !== undefined) process.kill(pid, 'SIGUSR2');
  };
  if (on) toggle();
  try {
    return await fn();
  } finally {
    if (on) toggle();
  }
}

/** The soft limit on open files, which the controller inherits: it holds one socket per agent. */
async function openFileLimit(): Promise<number> {
  const text = await fs.readFile('/proc/self/limits', 'utf8').catch(() => '');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

async function run(o: BenchOptions): Promise<void> {
  const fdLimit = await openFileLimit();
  if (fdLimit < o.agents + 1_024) {
    log(`warning: open files limited to ${fdLimit}; the controller needs one per agent plus ~1,000 (run \`ulimit -n ${o.agents + 4_096}\` first)`);
  }
  log(`starting ${o.replicas > 1 ? `${o.replicas} controller replicas` : 'the controller'} (${o.databaseUrl ? 'DATABASE_URL' : 'embedded PostgreSQL'}, ${o.mqttUrl ? 'MQTT_URL' : 'embedded aedes'})`);
  controller = await startBenchController({ ...o, issuer: ISSUER, nodeOptions: process.env.BENCH_CONTROLLER_NODE_OPTIONS });
  const controllerPid = controller.process.child.pid!;
  const ctl = controller.process;
  ctl.child.once('exit', (code, signal) => {
    if (cleaning) return;
    // Everything after this fails with "fetch failed"; say why first.
    const last = ctl.logs.filter((l) => typeof l.level === 'number' && l.level >= 40).slice(-10);
    log(`the controller exited during the run (${code ?? signal}); stderr: ${ctl.stderr().slice(-4_000) || '(empty)'}`);
    for (const l of last) log(`controller said: ${JSON.stringify(l).slice(0, 1_000)}`);
  });
  sql = postgres(controller.databaseUrl, { max: 4, onnotice: () => {} });
  const prepared = await prepareFleet(controller, sql, {
    agents: o.agents,
    mainPoolCount: 4,
    silentAgents: o.silentAgents,
    ttlSec: o.ttlSec,
    agentsPerWorker: o.agentsPerWorker,
    transport: o.transport,
    connectConcurrency: o.connectConcurrency,
    issuer: ISSUER,
    audience: LEASE_AUDIENCE,
    keepaliveSec: 60,
  }, log);
  fleet = prepared.fleet;
  const ctx: BenchContext = { opts: o, controller, controllerPid, sql, log, ...prepared };
  await sleep(1_000);
  const baselineRss = (sampleProcess(controllerPid)?.rssBytes ?? 0) / 1024 / 1024;
  const ceilings = await measureCeilings(o, controller);
  let engine: Awaited<ReturnType<typeof probeLeaseEngine>> | undefined;
  if (o.engineGrants > 0) {
    log('lease engine alone: one caller, then many at once');
    engine = await probeLeaseEngine(sql, controller.databaseUrl, o.engineGrants);
  }

  log(`connect storm: ${o.agents} agents over ${prepared.workers} workers`);
  const storm = await profiled('storm', () => connectStorm(ctx, prepared.workers));
  log(`storm: ${storm.holding}/${storm.agents} holding after ${storm.allHoldingSec.toFixed(1)} s`);
  await sleep(3_000);
  log('re-issue wave');
  const beforeWave = await scrapeLeaseTimings(controller.process.url);
  const wave = await profiled('wave', () => reissueWave(ctx));
  log(`wave: ${Math.round(wave.leasesPerSec)} leases/s`);
  const timings = await scrapeLeaseTimings(controller.process.url);
  const waveTransactions = Object.fromEntries(
    Object.entries(timings.transactions).map(([op, t]) => [op, t.count - (beforeWave.transactions[op]?.count ?? 0)]),
  );
  log(`controller timings after the wave: ${JSON.stringify(timings)}`);
  await sleep(2_000);
  log('re-issue wave with the fleet stopped (the controller alone signs, persists, delivers)');
  const delivery = await profiled('delivery', () => deliveryWave(ctx));
  if (delivery) log(`delivery wave: ${Math.round(delivery.leasesPerSec)} leases/s; ${delivery.verified}/${delivery.expected} verified ${delivery.verifiedAfterResumeSec.toFixed(1)} s after the fleet resumed`);
  log(`steady renewal for ${o.durationSec} s`);
  const steady = await steadyRenewal(ctx, o.durationSec);
  log(`allocation changes: ${o.allocChanges}`);
  const allocation = await allocationLatency(ctx, o.allocChanges);
  log(`releases: ${o.releases}`);
  const release = await releaseToFree(ctx, o.releases);
  log(`silent loss: ${o.silentAgents} agents`);
  const silent = await silentLoss(ctx);

  const smallest = smallestCeiling(ceilings);
  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    machine: machineInfo(),
    options: { ...o, databaseUrl: o.databaseUrl ? '(given)' : undefined, mqttUrl: o.mqttUrl ? '(given)' : undefined, mqttPassword: undefined },
    baseline: { controllerRssMiB: baselineRss },
    ceilings,
    engine,
    controllerTimingsAfterWave: timings,
    waveTransactions,
    storm,
    wave,
    deliveryWave: delivery,
    steady,
    allocation,
    release,
    silentLoss: silent,
    derived: {
      smallestCeiling: smallest,
      waveToSmallestCeiling: wave.leasesPerSec / smallest.perSec,
      deliveryWaveToSmallestCeiling: delivery ? delivery.leasesPerSec / smallest.perSec : undefined,
      stormToSmallestCeiling: storm.leasesPerSec / smallest.perSec,
      rssPerAgentKiB: ((steady.controllerRssMiB - baselineRss) * 1024) / Math.max(1, steady.connectedAgents),
    },
    fleet: { errors: prepared.fleet.errorCount, refused: prepared.fleet.refusedCount, firstErrors: prepared.fleet.errors },
  };
  await fs.mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  await fs.writeFile(o.out, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nfloatlease bench — ${report.machine.cpus} cores, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}\n`);
  process.stdout.write(formatReport(report) + '\n');
  process.stdout.write(`JSON: ${o.out}\n`);
  if (report.fleet.firstErrors.length) process.stdout.write(`first fleet errors:\n  ${report.fleet.firstErrors.slice(0, 10).join('\n  ')}\n`);
}

let options: BenchOptions;
try {
  options = parseBenchOptions(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof BenchUsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
let code = 0;
try {
  await run(options);
} catch (err) {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 1;
} finally {
  log('cleaning up');
  await cleanup();
}
process.exit(code);
