import type { PoolPolicyView, PoolView, SimulateBody } from '../../api/types.js';

/** The what-if settings as form strings (percentages where the API takes fractions). */
export interface SimForm {
  days: string;
  ttlSec: string;
  reclaim: PoolView['reclaim'];
  graceSec: string;
  elastic: boolean;
  headroomPct: string;
  stepPct: string;
  cooldownSec: string;
  overdraftFactor: string;
  borrowMaxSec: string;
  borrowMaxPct: string;
  falseReclaimWindowSec: string;
}

const pct = (fraction: number) => String(Math.round(fraction * 1000) / 10);

/** The settings in force, as the form starts. */
export function formOf(pool: PoolView, policy: PoolPolicyView): SimForm {
  return {
    days: '7',
    ttlSec: String(pool.leaseTtlSeconds),
    reclaim: pool.reclaim,
    graceSec: String(pool.disconnectGraceSeconds),
    elastic: true,
    headroomPct: pct(policy.headroom),
    stepPct: pct(policy.step),
    cooldownSec: String(policy.cooldownSec),
    overdraftFactor: String(pool.overdraftFactor),
    borrowMaxSec: String(policy.borrowMaxSec),
    borrowMaxPct: pct(policy.borrowMaxFraction),
    falseReclaimWindowSec: '3600',
  };
}

/**
 * Only what differs from the settings in force is sent: the controller replays the rest as in
 * force (so an untouched elastic policy stays exactly what the pool's gateways have). The false
 * reclaim window is a measure, not a setting: it applies to both columns and always goes.
 */
export function bodyOf(was: SimForm, f: SimForm): SimulateBody {
  const settings: SimulateBody['settings'] = { falseReclaimWindowSec: Number(f.falseReclaimWindowSec) };
  if (f.ttlSec !== was.ttlSec) settings.ttlSec = Number(f.ttlSec);
  if (f.reclaim !== was.reclaim) settings.reclaim = f.reclaim;
  if (f.graceSec !== was.graceSec) settings.graceSec = Number(f.graceSec);
  if (!f.elastic) settings.elastic = null;
  else if (!was.elastic || f.headroomPct !== was.headroomPct || f.stepPct !== was.stepPct || f.cooldownSec !== was.cooldownSec) {
    settings.elastic = { headroom: Number(f.headroomPct) / 100, step: Number(f.stepPct) / 100, cooldownSec: Number(f.cooldownSec) };
  }
  if (f.overdraftFactor !== was.overdraftFactor) settings.overdraftFactor = Number(f.overdraftFactor);
  if (f.borrowMaxSec !== was.borrowMaxSec) settings.borrowMaxSec = Number(f.borrowMaxSec);
  if (f.borrowMaxPct !== was.borrowMaxPct) settings.borrowMaxFraction = Number(f.borrowMaxPct) / 100;
  return { days: Number(f.days), settings };
}

/** How many settings differ from those in force (the run button says so). */
export function changedCount(was: SimForm, f: SimForm): number {
  return Object.keys(bodyOf(was, f).settings).length - 1;
}
