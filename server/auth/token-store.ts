import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { apiTokens } from '../db/schema.js';

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export const tokenStore = {
  async findActiveByHash(q: DbOrTx, tokenHash: string): Promise<ApiTokenRow | undefined> {
    const [row] = await q
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
      .limit(1);
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    return row;
  },
  async touch(q: DbOrTx, id: string): Promise<void> {
    // Coarse on purpose: at most one write per token per minute.
    await q
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(and(eq(apiTokens.id, id), sql`(${apiTokens.lastUsedAt} is null or ${apiTokens.lastUsedAt} < now() - interval '1 minute')`));
  },
  async insert(q: DbOrTx, row: typeof apiTokens.$inferInsert): Promise<ApiTokenRow> {
    const [created] = await q.insert(apiTokens).values(row).returning();
    return created!;
  },
  async list(q: DbOrTx): Promise<ApiTokenRow[]> {
    return q.select().from(apiTokens).orderBy(apiTokens.createdAt);
  },
  async revoke(q: DbOrTx, id: string): Promise<ApiTokenRow | undefined> {
    const [row] = await q
      .update(apiTokens)
      .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
      .where(eq(apiTokens.id, id))
      .returning();
    return row;
  },
  async countActiveAdmins(q: DbOrTx): Promise<number> {
    const [r] = await q
      .select({ n: sql<number>`count(*)::int` })
      .from(apiTokens)
      .where(and(eq(apiTokens.role, 'admin'), isNull(apiTokens.revokedAt)));
    return r?.n ?? 0;
  },
};
