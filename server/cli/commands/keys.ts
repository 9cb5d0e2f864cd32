import type { Command } from 'commander';
import { z } from 'zod';
import type { ContextOf } from '../context.js';
import { addListCommand } from '../list-command.js';
import { date } from '../output/format.js';
import { renderTable } from '../output/table.js';

const keyView = z.object({ kid: z.string(), createdAt: z.string(), retiredAt: z.string().nullable(), signing: z.boolean() });
type KeyView = z.infer<typeof keyView>;

function keysTable(keys: readonly KeyView[]): string {
  if (keys.length === 0) return 'No signing keys.';
  return renderTable(keys, [
    { header: 'KID', value: (k) => k.kid },
    { header: 'CREATED', value: (k) => date(k.createdAt) },
    { header: 'RETIRED', value: (k) => (k.retiredAt ? date(k.retiredAt) : '-') },
    { header: 'STATE', value: (k) => (k.signing ? 'signing' : k.retiredAt ? 'retired (published while its leases live)' : 'published') },
  ]);
}

export function registerKeyCommands(program: Command, ctxOf: ContextOf): void {
  const keys = program.command('keys').description("the controller's lease-signing keys (admin)");

  addListCommand(keys, ctxOf, { description: 'signing keys: the one signing now and those still published for live leases', path: '/api/v1/signing-keys', item: keyView, table: keysTable });

  keys
    .command('rotate')
    .description('start signing with a new key; the old one stays published while its leases live (asks first; --yes to skip)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (flags: { yes?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      await ctx.confirm('Rotate the lease-signing key? New leases are signed with a new key', flags.yes);
      const res = await ctx.api().send('POST', '/api/v1/signing-keys/rotate', z.array(keyView));
      const now = res.data.find((k) => k.signing);
      ctx.result(res.raw, () => `Rotated: leases are now signed with ${now?.kid ?? '?'}.\n${keysTable(res.data)}`);
    });
}
