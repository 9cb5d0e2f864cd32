import { Option, type Command } from 'commander';
import { z } from 'zod';
import { roles, tokenCreated, tokenView } from '../../../shared/protocol/rest.js';
import type { ContextOf } from '../context.js';
import { addListCommand } from '../list-command.js';
import { ago, date } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { dateArg, uuidArg } from '../parse.js';

type TokenView = z.infer<typeof tokenView>;

function tokenState(t: TokenView, now = Date.now()): string {
  if (t.revokedAt) return `revoked ${date(t.revokedAt)}`;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

function tokensTable(items: readonly TokenView[]): string {
  return renderTable(items, [
    { header: 'ID', value: (t) => t.id },
    { header: 'NAME', value: (t) => t.name, max: 30 },
    { header: 'ROLE', value: (t) => t.role },
    { header: 'PREFIX', value: (t) => `${t.tokenPrefix}…` },
    { header: 'CREATED', value: (t) => date(t.createdAt) },
    { header: 'EXPIRES', value: (t) => (t.expiresAt ? date(t.expiresAt) : 'never') },
    { header: 'LAST USED', value: (t) => ago(t.lastUsedAt) },
    { header: 'STATE', value: (t) => tokenState(t) },
  ]);
}

const me = z.object({ name: z.string(), role: z.string(), via: z.string() });

export function registerTokenCommands(program: Command, ctxOf: ContextOf): void {
  const tokens = program.command('tokens').description('API tokens (admin): the secrets are stored hashed and shown once');

  addListCommand(tokens, ctxOf, { description: 'list API tokens (never their secrets)', path: '/api/v1/tokens', item: tokenView, table: tokensTable });

  tokens
    .command('create')
    .description('create an API token; the token itself is printed once, on standard output')
    .requiredOption('--name <name>', 'who or what uses it, e.g. ci-deploy')
    .addOption(new Option('--role <role>', 'viewer reads; operator also allocates and manages codes; admin does everything').choices(roles).makeOptionMandatory())
    .option('--expires <date>', 'stops working after this (2027-01-31, ISO date-time, or a span such as 90d)', dateArg)
    .action(async (flags: { name: string; role: (typeof roles)[number]; expires?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().send('POST', '/api/v1/tokens', tokenCreated, {
        name: flags.name,
        role: flags.role,
        ...(flags.expires ? { expiresAt: flags.expires } : {}),
      });
      if (ctx.json) return ctx.result(res.raw, () => '');
      ctx.print(res.data.token);
      ctx.note(
        `API token ${res.data.id} (${res.data.name}, ${res.data.role}) created, ${res.data.expiresAt ? `expires ${date(res.data.expiresAt)}` : 'no expiry'}. ` +
          'The token above is shown only once; store it now.',
      );
    });

  tokens
    .command('revoke')
    .description('revoke an API token at once')
    .argument('<token-id>', 'token id (see tokens list)', uuidArg('a token'))
    .action(async (id: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().send('DELETE', `/api/v1/tokens/${id}`, tokenView);
      ctx.result(res.raw, () => `Revoked API token ${res.data.name} (${res.data.id}).`);
    });

  program
    .command('whoami')
    .description('who the token belongs to, and its role')
    .action(async (_o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().get('/api/v1/me', me);
      ctx.result(res.raw, () => `${res.data.name} (${res.data.role}, via ${res.data.via})`);
    });
}
