import type { Command } from 'commander';
import { auditPage } from '../../../shared/protocol/rest.js';
import type { ContextOf } from '../context.js';
import { auditTable } from '../output/audit-views.js';
import { intArg, pastDateArg } from '../parse.js';
import { resolveGatewayId, resolvePoolId } from '../resolve.js';

interface AuditFlags {
  gateway?: string;
  pool?: string;
  action?: string;
  actor?: string;
  from?: string;
  to?: string;
  limit?: number;
  before?: number;
}

export function registerAuditCommand(program: Command, ctxOf: ContextOf): void {
  program
    .command('audit')
    .description('the audit trail, newest first (filters combine; page with --before)')
    .option('--gateway <gateway>', 'events about this gateway (id or name)')
    .option('--pool <pool>', 'events in this pool (id or name)')
    .option('--action <action>', 'one action, e.g. allocation.changed')
    .option('--actor <actor>', 'one actor, e.g. token:ops')
    .option('--from <date>', 'at or after (2027-01-31, an ISO date-time, or a span back from now such as 2h or 7d)', pastDateArg)
    .option('--to <date>', 'at or before (same forms)', pastDateArg)
    .option('--limit <n>', 'at most this many (1-500)', intArg(1, 500), 50)
    .option('--before <cursor>', 'events older than this event id (the cursor printed after a full page)', intArg(1, Number.MAX_SAFE_INTEGER))
    .action(async (flags: AuditFlags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const [gatewayId, poolId] = await Promise.all([
        flags.gateway === undefined ? undefined : resolveGatewayId(api, flags.gateway),
        flags.pool === undefined ? undefined : resolvePoolId(api, flags.pool),
      ]);
      const res = await api.get('/api/v1/audit', auditPage, {
        gatewayId,
        poolId,
        action: flags.action,
        actor: flags.actor,
        from: flags.from,
        to: flags.to,
        limit: flags.limit,
        before: flags.before,
      });
      ctx.result(res.raw, () => auditTable(res.data.items));
      if (!ctx.json && res.data.nextBefore !== null) ctx.note(`More events: add --before ${res.data.nextBefore}`);
    });
}
