import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { POINT_KINDS } from '../../shared/protocol/limits.js';
import type { LeaseObserver } from '../leases/lease-service.js';
import type { EndedLease } from '../leases/lease-store.js';
import { poolLimit } from '../pools/capacity-policy.js';
import { emptyTotals, type PoolRow, type PoolTotals } from '../pools/pool-store.js';

/** What a scrape reads: pools with their totals, and connected agents per transport. */
export interface PoolSnapshotSource {
  snapshot(): Promise<{ pools: PoolRow[]; totals: Map<string, PoolTotals>; onlineByTransport: Map<string, number> }>;
}

/**
 * The controller's own registry. Pool gauges are computed at scrape time from one aggregate query
 * (cached briefly), so a scrape costs the same at 10 or 10,000 gateways; no gateway id is a label.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly issuedCount: Counter<'reason'>;
  private readonly keepRefusedCount: Counter;
  private readonly pushCount: Counter<'outcome'>;
  private readonly endedCounters: Record<'released' | 'expired' | 'reclaimed' | 'superseded', Counter>;
  private readonly reclaimedPoints: Counter<'kind' | 'reason'>;
  private readonly issueDuration: Histogram<'reason'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly dbDuration: Histogram<'operation'>;
  /** Hysteresis state per pool and kind: raised at alarmRaiseRatio, cleared at alarmClearRatio. */
  private readonly alarms = new Map<string, boolean>();

  constructor(source: PoolSnapshotSource, opts: { wsConnected: () => number; cacheMs?: number }) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    let cached: { at: number; value: Awaited<ReturnType<PoolSnapshotSource['snapshot']>> } | undefined;
    let inflight: Promise<Awaited<ReturnType<PoolSnapshotSource['snapshot']>>> | undefined;
    const cacheMs = opts.cacheMs ?? 1_000;
    const snapshot = async () => {
      if (cached && Date.now() - cached.at < cacheMs) return cached.value;
      inflight ??= source.snapshot().finally(() => (inflight = undefined));
      const value = await inflight;
      cached = { at: Date.now(), value };
      return value;
    };
    // Every pool gauge: one series per pool (and extra labels), set from the scrape's snapshot.
    const perPoolGauge = <L extends string>(
      name: string,
      help: string,
      extraLabels: readonly L[],
      setPool: (set: (labels: Record<L, string>, value: number) => void, p: PoolRow, t: PoolTotals) => void,
    ) =>
      new Gauge<'pool' | L>({
        name,
        help,
        labelNames: ['pool', ...extraLabels],
        registers: [r],
        async collect() {
          const { pools, totals } = await snapshot();
          this.reset();
          for (const p of pools) setPool((labels, value) => this.set({ pool: p.name, ...labels }, value), p, totals.get(p.id) ?? emptyTotals());
        },
      });
    const poolGauge = (name: string, help: string, pick: (p: PoolRow, t: PoolTotals, kind: 'tags' | 'connections') => number) =>
      perPoolGauge(name, help, ['kind'], (set, p, t) => {
        for (const kind of POINT_KINDS) set({ kind }, pick(p, t, kind));
      });
    const limitOf = (p: PoolRow) => poolLimit({ tags: p.capacityTags, connections: p.capacityConnections }, p.overdraftFactor);
    poolGauge('floatlease_pool_capacity_points', 'Points granted by the pool license', (p, _t, k) => (k === 'tags' ? p.capacityTags : p.capacityConnections));
    poolGauge('floatlease_pool_limit_points', 'Most points the pool may hold (capacity times overdraft factor)', (p, _t, k) => limitOf(p)[k]);
    poolGauge('floatlease_pool_allocated_points', 'Points allocated to gateways (entitlements; may exceed the limit)', (_p, t, k) => t.allocated[k]);
    poolGauge('floatlease_pool_held_points', 'Points gateways may be using: live leases (reserved gateways: at least their allocation) summed', (_p, t, k) => t.held[k]);
    perPoolGauge(
      'floatlease_pool_points',
      'Points per pool and kind by state: held (live leases, reserved allocations), allocated (entitled), pending (online gateways waiting), in_use (reported)',
      ['kind', 'state'],
      (set, _p, t) => {
        for (const kind of POINT_KINDS) {
          set({ kind, state: 'held' }, t.held[kind]);
          set({ kind, state: 'allocated' }, t.allocated[kind]);
          set({ kind, state: 'pending' }, t.pending[kind]);
          set({ kind, state: 'in_use' }, t.inUse[kind]);
        }
      },
    );
    poolGauge('floatlease_pool_in_use_points', 'Points in use as reported by the agents', (_p, t, k) => t.inUse[k]);
    poolGauge('floatlease_pool_utilization_ratio', 'Held points over the limit', (p, t, k) => {
      const l = limitOf(p)[k];
      return l > 0 ? t.held[k] / l : t.held[k] > 0 ? 1 : 0;
    });
    poolGauge('floatlease_pool_utilization_alarm', 'Utilization alarm with hysteresis (raise/clear ratios of the pool)', (p, t, k) => {
      const l = limitOf(p)[k];
      const ratio = l > 0 ? t.held[k] / l : 0;
      const key = `${p.id}:${k}`;
      const on = this.alarms.get(key) ?? false;
      const next = on ? ratio > p.alarmClearRatio : ratio >= p.alarmRaiseRatio;
      this.alarms.set(key, next);
      return next ? 1 : 0;
    });
    const perPool = (name: string, help: string, pick: (p: PoolRow, t: PoolTotals) => number) => perPoolGauge(name, help, [], (set, p, t) => set({}, pick(p, t)));
    perPool('floatlease_pool_active_leases', 'Gateways holding a live lease', (_p, t) => t.leased);
    perPool('floatlease_pool_gateways', 'Enrolled gateways (not decommissioned)', (_p, t) => t.gateways);
    perPool('floatlease_pool_gateways_online', 'Gateways whose agent is connected', (_p, t) => t.online);
    perPool('floatlease_pool_over_committed', '1 while a forced license leaves the pool below what it holds', (p) => (p.overCommitted ? 1 : 0));
    perPool('floatlease_pool_license_expiry_timestamp_seconds', 'When the pool license expires (0: no license)', (p) => (p.licenseExpiresAt ? p.licenseExpiresAt.getTime() / 1000 : 0));
    // Per replica: its own sockets only, so sum() over replicas is the fleet's Socket.IO agents. MQTT
    // agents are connected to the broker, not to a replica: they are counted in the fleet gauge below.
    new Gauge({
      name: 'floatlease_connected_agents',
      help: 'Agents connected to this replica, by transport (ws: its own Socket.IO sockets; mqtt: always 0, agents connect to the broker). Sum over replicas',
      labelNames: ['transport'] as const,
      registers: [r],
      collect() {
        this.reset();
        this.set({ transport: 'ws' }, opts.wsConnected());
        this.set({ transport: 'mqtt' }, 0);
      },
    });
    // Fleet-wide, read from the database: every replica reports the same value, so aggregate with max by.
    new Gauge({
      name: 'floatlease_fleet_agents_online',
      help: 'Online gateways of the whole fleet, by transport (from the database; the same on every replica: use max, not sum)',
      labelNames: ['transport'] as const,
      registers: [r],
      async collect() {
        const { onlineByTransport } = await snapshot();
        this.reset();
        for (const transport of ['mqtt', 'ws', 'http']) this.set({ transport }, onlineByTransport.get(transport) ?? 0);
      },
    });
    this.keepRefusedCount = new Counter({
      name: 'floatlease_lease_keep_refusals_total',
      help: 'Grant transactions in over-committed pools rolled back at commit (a kept lease expired meanwhile) and run again',
      registers: [r],
    });
    this.issuedCount = new Counter({ name: 'floatlease_leases_issued_total', help: 'Leases signed and issued, by reason (grant, renewal, push)', labelNames: ['reason'] as const, registers: [r] });
    this.pushCount = new Counter({
      name: 'floatlease_lease_pushes_total',
      help: 'Leases pushed unasked after a change, by outcome (delivered, undelivered, skipped, failed)',
      labelNames: ['outcome'] as const,
      registers: [r],
    });
    this.endedCounters = {
      released: new Counter({ name: 'floatlease_leases_released_total', help: 'Leases released by their agent', registers: [r] }),
      expired: new Counter({ name: 'floatlease_leases_expired_total', help: 'Leases that reached their expiry unrenewed', registers: [r] }),
      reclaimed: new Counter({ name: 'floatlease_leases_reclaimed_total', help: 'Leases ended on disconnect (reclaim: on-disconnect pools)', registers: [r] }),
      superseded: new Counter({ name: 'floatlease_leases_superseded_total', help: 'Leases replaced by a newer one the agent acknowledged', registers: [r] }),
    };
    this.reclaimedPoints = new Counter({
      name: 'floatlease_reclaimed_points_total',
      help: 'Points returned to pools when leases ended, by kind and reason (released, expired, reclaimed)',
      labelNames: ['kind', 'reason'] as const,
      registers: [r],
    });
    // Durations in seconds by bounded labels; the buckets fit what each one measures.
    const seconds = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers: [r] });
    this.issueDuration = seconds('floatlease_lease_issue_duration_seconds', 'Time to sign and persist one lease', ['reason'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
    this.httpDuration = seconds('floatlease_http_request_duration_seconds', 'HTTP request duration by route template', ['method', 'route', 'status'], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
    this.dbDuration = seconds('floatlease_db_query_duration_seconds', 'Database round trips of the controller, by operation', ['operation'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
  }

  /** Hooks for the lease service. */
  leaseObserver(): LeaseObserver {
    return {
      issued: (reason, seconds) => {
        this.issuedCount.inc({ reason });
        this.issueDuration.observe({ reason }, seconds);
      },
      ended: (state, leases) => this.ended(state, leases),
      transaction: (operation, seconds) => this.dbDuration.observe({ operation }, seconds),
      pushed: (outcome) => this.pushCount.inc({ outcome }),
      keepRefused: () => this.keepRefusedCount.inc(),
    };
  }

  private ended(state: 'released' | 'expired' | 'reclaimed' | 'superseded', leases: readonly EndedLease[]): void {
    this.endedCounters[state].inc(leases.length);
    if (state === 'superseded') return;
    for (const kind of POINT_KINDS) {
      const points = leases.reduce((n, l) => n + l[kind], 0);
      if (points > 0) this.reclaimedPoints.inc({ kind, reason: state }, points);
    }
  }
}
