/** What `npm run bench` is asked to do; flags win over environment variables. */
export interface BenchOptions {
  /** Simulated agents (gateways) in the fleet. */
  readonly agents: number;
  /** Seconds of steady renewal over which controller CPU and RSS are averaged. */
  readonly durationSec: number;
  readonly transport: 'mqtt' | 'ws';
  /** Lease lifetime of the fleet's pools (agents renew after a third of it). */
  readonly ttlSec: number;
  readonly agentsPerWorker: number;
  /** Agents of one worker that may be between "connect" and "holding a lease" at once. */
  readonly connectConcurrency: number;
  readonly allocChanges: number;
  readonly releases: number;
  /** Agents in the pool whose worker is SIGKILLed for the silent-loss measurement (0 skips it). */
  readonly silentAgents: number;
  readonly sweepIntervalMs: number;
  /** Grants of the lease-engine probe (no transport); 0 skips it (a busy machine spends minutes there). */
  readonly engineGrants: number;
  /** Controller replicas on the external DATABASE_URL and MQTT_URL; admin changes go through the last. */
  readonly replicas: number;
  readonly databaseUrl: string | undefined;
  readonly mqttUrl: string | undefined;
  readonly mqttUsername: string | undefined;
  readonly mqttPassword: string | undefined;
  readonly out: string;
}

const BENCH_USAGE = `npm run bench -- [options]
  --agents N             simulated agents (BENCH_AGENTS, default 10000)
  --duration S           steady renewal period in seconds (BENCH_DURATION, default TTL/3 + 20)
  --transport mqtt|ws    agent transport (BENCH_TRANSPORT, default mqtt)
  --ttl S                lease TTL of the fleet's pools (BENCH_TTL, default 300)
  --per-worker N         agents per worker process (BENCH_PER_WORKER, default 2000)
  --connect-concurrency N  connects in flight per worker (BENCH_CONNECT_CONCURRENCY, default 250)
  --alloc-changes N      allocation changes timed to the agent (BENCH_ALLOC_CHANGES, default 200)
  --releases N           explicit releases timed to free points (BENCH_RELEASES, default 50)
  --silent N             agents lost with SIGKILL for the reclaim delay (BENCH_SILENT, default 100)
  --sweep-ms N           controller sweep interval (BENCH_SWEEP_MS, default 5000, the controller default)
  --engine-grants N      grants of the lease-engine probe, 0 skips it (BENCH_ENGINE_GRANTS, default 5000)
  --replicas N           controller replicas (BENCH_REPLICAS, default 1); above 1 needs DATABASE_URL and MQTT_URL:
                         agents talk to replica 1, administrative changes go through the last one
  --out FILE             JSON result (BENCH_OUT, default test-results/bench.json)
  DATABASE_URL, MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD are passed to the controller (use throwaway ones).
  BENCH_CONTROLLER_NODE_OPTIONS is the controller's NODE_OPTIONS; for a CPU profile of the controller:
    BENCH_CONTROLLER_NODE_OPTIONS="--import tsx --import ./test/bench/cpu-profile-hook.ts" BENCH_PROFILE_DIR=/tmp/prof [BENCH_PROFILE_PHASE=storm|wave]`;

export class BenchUsageError extends Error {}

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new BenchUsageError(`${name} must be a whole number ${min}..${max}, got ${raw}`);
  return v;
}

function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') throw new BenchUsageError(BENCH_USAGE);
    if (!a.startsWith('--')) throw new BenchUsageError(`unexpected argument ${a}\n${BENCH_USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else out.set(a.slice(2), argv[++i] ?? '');
  }
  return out;
}

export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const f = flags(argv);
  const known = ['agents', 'duration', 'transport', 'ttl', 'per-worker', 'connect-concurrency', 'alloc-changes', 'releases', 'silent', 'sweep-ms', 'engine-grants', 'replicas', 'out'];
  for (const k of f.keys()) if (!known.includes(k)) throw new BenchUsageError(`unknown option --${k}\n${BENCH_USAGE}`);
  const pick = (flag: string, envName: string) => f.get(flag) ?? env[envName];
  const transport = pick('transport', 'BENCH_TRANSPORT') ?? 'mqtt';
  if (transport !== 'mqtt' && transport !== 'ws') throw new BenchUsageError(`--transport must be mqtt or ws, got ${transport}`);
  const ttlSec = int('--ttl', pick('ttl', 'BENCH_TTL'), 300, 15, 86_400);
  const agents = int('--agents', pick('agents', 'BENCH_AGENTS'), 10_000, 10, 50_000);
  const silentAgents = int('--silent', pick('silent', 'BENCH_SILENT'), Math.min(100, Math.floor(agents / 10)), 0, Math.floor(agents / 2));
  const replicas = int('--replicas', pick('replicas', 'BENCH_REPLICAS'), 1, 1, 8);
  if (replicas > 1 && (!env.DATABASE_URL || !env.MQTT_URL)) {
    throw new BenchUsageError('--replicas above 1 needs an external PostgreSQL and broker: set DATABASE_URL and MQTT_URL');
  }
  return {
    agents,
    replicas,
    durationSec: int('--duration', pick('duration', 'BENCH_DURATION'), Math.ceil(ttlSec / 3) + 20, 5, 3_600),
    transport,
    ttlSec,
    agentsPerWorker: int('--per-worker', pick('per-worker', 'BENCH_PER_WORKER'), 2_000, 10, 10_000),
    connectConcurrency: int('--connect-concurrency', pick('connect-concurrency', 'BENCH_CONNECT_CONCURRENCY'), 250, 1, 10_000),
    allocChanges: int('--alloc-changes', pick('alloc-changes', 'BENCH_ALLOC_CHANGES'), 200, 0, 10_000),
    releases: int('--releases', pick('releases', 'BENCH_RELEASES'), 50, 0, 1_000),
    silentAgents,
    sweepIntervalMs: int('--sweep-ms', pick('sweep-ms', 'BENCH_SWEEP_MS'), 5_000, 100, 60_000),
    engineGrants: int('--engine-grants', pick('engine-grants', 'BENCH_ENGINE_GRANTS'), 5_000, 0, 50_000),
    databaseUrl: env.DATABASE_URL || undefined,
    mqttUrl: env.MQTT_URL || undefined,
    mqttUsername: env.MQTT_USERNAME || undefined,
    mqttPassword: env.MQTT_PASSWORD || undefined,
    out: pick('out', 'BENCH_OUT') ?? 'test-results/bench.json',
  };
}
