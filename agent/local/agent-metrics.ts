import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { POINT_KINDS, type PointKind } from '../../shared/protocol/limits.js';
import type { AgentView } from './agent-view.js';

/** The agent's own registry: limits, usage, lease time left, controller reachability, refusals. */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly refusals: Counter<'reason'>;

  constructor(view: () => AgentView) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    // Every gauge is read from the agent's view at scrape time.
    const perKind = (name: string, help: string, points: (v: AgentView) => Readonly<Record<PointKind, number>> | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['kind'] as const,
        registers: [r],
        collect() {
          const p = points(view());
          this.reset();
          if (p) for (const kind of POINT_KINDS) this.set({ kind }, p[kind]);
        },
      });
    const single = (name: string, help: string, value: (v: AgentView) => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(value(view()));
        },
      });
    perKind('floatlease_agent_limit_points', 'Effective limit: the valid lease, else the trial allowance', (v) => v.limits);
    perKind('floatlease_agent_usage_points', 'Usage read from the gateway', (v) => v.usage);
    single('floatlease_agent_lease_seconds_left', 'Seconds until the current lease ends (0 on the trial allowance)', (v) => v.secondsLeft);
    single('floatlease_agent_floating_license', '1 while a valid floating license (lease) is held, 0 on the trial allowance', (v) => (v.licenseType === 'FLOATING' ? 1 : 0));
    single(
      'floatlease_agent_lease_borrowed',
      '1 while the valid lease is an offline borrow (issue 21): enforced without the controller until it ends',
      (v) => (v.borrowedUntil !== undefined ? 1 : 0),
    );
    single('floatlease_agent_controller_reachable', '1 while the controller is reachable over some transport', (v) => (v.controllerReachable ? 1 : 0));
    this.refusals = new Counter({
      name: 'floatlease_agent_refusals_total',
      help: 'Gateway API requests refused by the gatekeeping proxy, by reason',
      labelNames: ['reason'] as const,
      registers: [r],
    });
    for (const reason of ['pluginNotLicensed', 'tooManyNodes', 'tooManyTags']) this.refusals.inc({ reason }, 0);
  }

  refused(reason: string): void {
    this.refusals.inc({ reason });
  }
}
