import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { POINT_KINDS } from '../../shared/protocol/limits.js';
import type { AgentView } from './agent-view.js';

/** The agent's own registry: limits, usage, lease time left, controller reachability, refusals. */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly refusals: Counter<'reason'>;

  constructor(view: () => AgentView) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: 'floatlease_agent_limit_points',
      help: 'Effective limit: the valid lease, else the trial allowance',
      labelNames: ['kind'] as const,
      registers: [r],
      collect() {
        const v = view();
        for (const kind of POINT_KINDS) this.set({ kind }, v.limits[kind]);
      },
    });
    new Gauge({
      name: 'floatlease_agent_usage_points',
      help: 'Usage read from the gateway',
      labelNames: ['kind'] as const,
      registers: [r],
      collect() {
        const v = view();
        this.reset();
        if (v.usage) for (const kind of POINT_KINDS) this.set({ kind }, v.usage[kind]);
      },
    });
    new Gauge({
      name: 'floatlease_agent_lease_seconds_left',
      help: 'Seconds until the current lease ends (0 on the trial allowance)',
      registers: [r],
      collect() {
        this.set(view().secondsLeft);
      },
    });
    new Gauge({
      name: 'floatlease_agent_floating_license',
      help: '1 while a valid floating license (lease) is held, 0 on the trial allowance',
      registers: [r],
      collect() {
        this.set(view().licenseType === 'FLOATING' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'floatlease_agent_lease_borrowed',
      help: '1 while the valid lease is an offline borrow (issue 21): enforced without the controller until it ends',
      registers: [r],
      collect() {
        this.set(view().borrowedUntil !== undefined ? 1 : 0);
      },
    });
    new Gauge({
      name: 'floatlease_agent_controller_reachable',
      help: '1 while the controller is reachable over some transport',
      registers: [r],
      collect() {
        this.set(view().controllerReachable ? 1 : 0);
      },
    });
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
