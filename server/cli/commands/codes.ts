import type { Command } from 'commander';
import { z } from 'zod';
import { activationCodeCreated, activationCodeView, gatewayView, type ActivationCodeView } from '../../../shared/protocol/rest.js';
import type { ContextOf } from '../context.js';
import { codesTable } from '../output/code-views.js';
import { date } from '../output/format.js';
import { gatewaysTable } from '../output/gateway-views.js';
import { dateArg, intArg, uuidArg } from '../parse.js';
import { listPools, resolvePoolId } from '../resolve.js';
import { CliError, EXIT } from '../errors.js';
import type { ApiClient } from '../http-client.js';
import { isUuid } from '../../../shared/protocol/uuid.js';

export function registerCodeCommands(program: Command, ctxOf: ContextOf): void {
  const codes = program.command('codes').description('activation codes: how agents enroll into a pool');

  codes
    .command('create')
    .description('create an activation code; the code itself is printed once, on standard output')
    .argument('<pool>', 'pool id or name')
    .requiredOption('--seats <n>', 'how many gateways (distinct hardware) may enroll with it', intArg(1, 100_000))
    .option('--expires <date>', 'no enrollments after this (2027-01-31, ISO date-time, or a span such as 30d)', dateArg)
    .option('--label <text>', 'a note for people, e.g. the site or installer')
    .action(async (ref: string, flags: { seats: number; expires?: string; label?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const poolId = await resolvePoolId(api, ref);
      const res = await api.send('POST', `/api/v1/pools/${poolId}/activation-codes`, activationCodeCreated, {
        seats: flags.seats,
        ...(flags.expires ? { expiresAt: flags.expires } : {}),
        ...(flags.label !== undefined ? { label: flags.label } : {}),
      });
      if (ctx.json) return ctx.result(res.raw, () => '');
      const c = res.data;
      ctx.print(c.code);
      ctx.note(
        `Activation code ${c.id} for pool ${ref}: ${c.seats} seat(s), ${c.expiresAt ? `expires ${date(c.expiresAt)}` : 'no expiry'}. ` +
          'The code above is shown only once; store it now.',
      );
    });

  codes
    .command('list')
    .description('activation codes with seats used: of one pool, or of every pool')
    .argument('[pool]', 'pool id or name (default: every pool)')
    .action(async (ref: string | undefined, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      if (ref !== undefined) {
        const res = await api.get(`/api/v1/pools/${await resolvePoolId(api, ref)}/activation-codes`, z.array(activationCodeView));
        return ctx.result(res.raw, () => codesTable(res.data));
      }
      const pools = await listPools(api);
      const all = (await Promise.all(pools.map((p) => allCodesOf(api, p.id)))).flat();
      ctx.result(all, () => codesTable(all, new Map(pools.map((p) => [p.id, p.name]))));
    });

  codes
    .command('revoke')
    .description('revoke an activation code (gateways enrolled with it keep working); revoking one already revoked is refused')
    .argument('<code>', 'activation code id, or the code prefix shown by codes list (FLAC-…)')
    .action(async (ref: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolveCodeId(api, ref);
      const res = await api.send('POST', `/api/v1/activation-codes/${id}/revoke`, activationCodeView);
      ctx.result(res.raw, () => `Revoked activation code ${res.data.codePrefix}… (${res.data.id}); ${res.data.seatsUsed} enrolled gateway(s) keep working.`);
    });

  codes
    .command('seats')
    .description('the gateways holding seats of an activation code')
    .argument('<code-id>', 'activation code id (see codes list)', uuidArg('an activation code'))
    .action(async (id: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().get(`/api/v1/activation-codes/${id}/seats`, z.array(gatewayView));
      ctx.result(res.raw, () => (res.data.length ? gatewaysTable(res.data) : 'No gateway enrolled with this code yet.'));
    });
}

async function allCodesOf(api: ApiClient, poolId: string): Promise<ActivationCodeView[]> {
  return (await api.get(`/api/v1/pools/${poolId}/activation-codes`, z.array(activationCodeView))).data;
}

/** An id, or the prefix `codes list` shows (with or without its ellipsis); it must name exactly one code. */
async function resolveCodeId(api: ApiClient, ref: string): Promise<string> {
  const want = ref.trim().replace(/(…|\.\.\.)$/, '');
  if (isUuid(want)) return want.toLowerCase();
  if (want.length < 6) throw new CliError(EXIT.usage, `${ref} is too short to name an activation code; give its id or the prefix codes list shows`);
  const pools = await listPools(api);
  const codes = (await Promise.all(pools.map((p) => allCodesOf(api, p.id)))).flat();
  // The prefix shown, or more of the code than the prefix (a whole code pasted in).
  const matches = codes.filter((c) => c.codePrefix.toUpperCase().startsWith(want.toUpperCase()) || want.toUpperCase().startsWith(c.codePrefix.toUpperCase()));
  const [first, ...others] = matches;
  if (!first) throw new CliError(EXIT.notFound, `no activation code starts with ${want}`);
  if (others.length) throw new CliError(EXIT.usage, `${matches.length} activation codes start with ${want}; use an id: ${matches.map((c) => c.id).join(', ')}`);
  return first.id;
}
