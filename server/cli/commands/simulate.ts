import { Option, type Command } from 'commander';
import { poolPolicyView } from '../../../shared/protocol/elastic.js';
import { simulateView, type SimulateView } from '../../../shared/protocol/simulate.js';
import type { ContextOf } from '../context.js';
import { renderTable } from '../output/table.js';
import { intArg, numberArg } from '../parse.js';
import { resolvePoolId } from '../resolve.js';

interface Flags {
  days?: number;
  ttl?: number;
  reclaim?: 'on-expiry' | 'on-disconnect';
  grace?: number;
  headroom?: number;
  step?: number;
  cooldown?: number;
  noElastic?: boolean;
  elastic?: boolean;
  overdraft?: number;
  borrowMax?: number;
  borrowFraction?: number;
  falseReclaimWindow?: number;
}

const f1 = (n: number) => n.toFixed(1);
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

function simulationTable(v: SimulateView): string {
  const a = v.inForce;
  const b = v.whatIf;
  const rows: [string, string, string][] = [
    ['TTL / reclaim', `${a.settings.ttlSec} s ${a.settings.reclaim}`, `${b.settings.ttlSec} s ${b.settings.reclaim}`],
    ['elastic', a.settings.elastic ? `headroom ${pct(a.settings.elastic.headroom)}, cooldown ${a.settings.elastic.cooldownSec} s` : 'off', b.settings.elastic ? `headroom ${pct(b.settings.elastic.headroom)}, cooldown ${b.settings.elastic.cooldownSec} s` : 'off'],
    ['overdraft', String(a.settings.overdraftFactor), String(b.settings.overdraftFactor)],
    ['stranded tag-hours', f1(a.report.strandedPointHours.tags), f1(b.report.strandedPointHours.tags)],
    ['stranded connection-hours', f1(a.report.strandedPointHours.connections), f1(b.report.strandedPointHours.connections)],
    ['reclaims', String(a.report.reclaims), String(b.report.reclaims)],
    ['false reclaims', String(a.report.falseReclaims), String(b.report.falseReclaims)],
    ['queued requests', String(a.report.queuedRequests), String(b.report.queuedRequests)],
    ['queued tag-hours', f1(a.report.queuedPointHours.tags), f1(b.report.queuedPointHours.tags)],
    ['refused borrows', String(a.report.refusedBorrows), String(b.report.refusedBorrows)],
    ['elastic resizes', String(a.report.elasticResizes), String(b.report.elasticResizes)],
    ['peak utilization (tags)', pct(a.report.peakUtilization.tags), pct(b.report.peakUtilization.tags)],
    ['peak utilization (connections)', pct(a.report.peakUtilization.connections), pct(b.report.peakUtilization.connections)],
  ];
  const head = `Replayed ${v.events} events of ${v.gateways} gateways, ${v.from} → ${v.to}, in ${v.elapsedMs.toFixed(0)} ms.`;
  return `${head}\n${renderTable(rows, [
    { header: '', value: (r) => r[0] },
    { header: 'IN FORCE', value: (r) => r[1], align: 'right' },
    { header: 'WHAT IF', value: (r) => r[2], align: 'right' },
  ])}`;
}

export function registerSimulateCommand(program: Command, ctxOf: ContextOf): void {
  program
    .command('simulate')
    .description("replay a pool's recorded history under other settings, side by side with those in force (changes nothing)")
    .argument('<pool>', 'pool id or name')
    .option('--days <n>', 'the last n days of history', numberArg(0.001, 90), 7)
    .option('--ttl <seconds>', 'lease TTL', intArg(1, 30 * 24 * 3600))
    .addOption(new Option('--reclaim <mode>', 'reclaim mode').choices(['on-expiry', 'on-disconnect']))
    .option('--grace <seconds>', 'disconnect grace (on-disconnect)', intArg(1, 30 * 24 * 3600))
    .option('--headroom <fraction>', 'elastic headroom', numberArg(0, 10))
    .option('--step <fraction>', 'elastic step', numberArg(0.001, 1))
    .option('--cooldown <seconds>', 'elastic cooldown', intArg(0, 7 * 24 * 3600))
    .option('--no-elastic', 'no elastic resizes')
    .option('--overdraft <factor>', 'overdraft factor', numberArg(1, 10))
    .option('--borrow-max <seconds>', 'longest borrow (0: off)', intArg(0, 30 * 24 * 3600))
    .option('--borrow-fraction <fraction>', 'borrowing cap', numberArg(0, 1))
    .option('--false-reclaim-window <seconds>', 'a reclaim is false when its gateway is back within this (default 3600)', intArg(1, 30 * 24 * 3600))
    .action(async (ref: string, f: Flags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolvePoolId(api, ref);
      const elasticChanged = f.headroom !== undefined || f.step !== undefined || f.cooldown !== undefined;
      let elastic: Record<string, unknown> | null | undefined;
      if (f.elastic === false) elastic = null;
      else if (elasticChanged) {
        const current = (await api.get(`/api/v1/pools/${id}/policy`, poolPolicyView)).data;
        elastic = { headroom: f.headroom ?? current.headroom, step: f.step ?? current.step, cooldownSec: f.cooldown ?? current.cooldownSec };
      }
      const settings = {
        ...(f.ttl !== undefined ? { ttlSec: f.ttl } : {}),
        ...(f.reclaim !== undefined ? { reclaim: f.reclaim } : {}),
        ...(f.grace !== undefined ? { graceSec: f.grace } : {}),
        ...(elastic !== undefined ? { elastic } : {}),
        ...(f.overdraft !== undefined ? { overdraftFactor: f.overdraft } : {}),
        ...(f.borrowMax !== undefined ? { borrowMaxSec: f.borrowMax } : {}),
        ...(f.borrowFraction !== undefined ? { borrowMaxFraction: f.borrowFraction } : {}),
        ...(f.falseReclaimWindow !== undefined ? { falseReclaimWindowSec: f.falseReclaimWindow } : {}),
      };
      const res = await api.send('POST', `/api/v1/pools/${id}/simulate`, simulateView, { days: f.days, settings });
      ctx.result(res.raw, () => simulationTable(res.data));
    });
}
