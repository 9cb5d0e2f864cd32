import type { Command } from 'commander';
import { z } from 'zod';
import type { ContextOf } from './context.js';

/** `<group> list`: one GET of a collection, printed as a table (the API's JSON with --json). */
export function addListCommand<T>(group: Command, ctxOf: ContextOf, list: { description: string; path: string; item: z.ZodType<T>; table: (items: T[]) => string }): void {
  group
    .command('list')
    .description(list.description)
    .action(async (_o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().get(list.path, z.array(list.item));
      ctx.result(res.raw, () => list.table(res.data));
    });
}
