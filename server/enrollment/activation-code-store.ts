import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { activationCodes, gateways } from '../db/schema.js';

export type ActivationCodeRow = typeof activationCodes.$inferSelect;

export const activationCodeStore = {
  async insert(q: DbOrTx, row: typeof activationCodes.$inferInsert): Promise<ActivationCodeRow> {
    const [created] = await q.insert(activationCodes).values(row).returning();
    return created!;
  },
  async get(q: DbOrTx, id: string): Promise<ActivationCodeRow | undefined> {
    const [row] = await q.select().from(activationCodes).where(eq(activationCodes.id, id));
    return row;
  },
  /** Locks the code: enrollments with one code serialise, so seats are counted on committed rows. */
  async lockByHash(q: DbOrTx, codeHash: string): Promise<ActivationCodeRow | undefined> {
    const [row] = await q.select().from(activationCodes).where(eq(activationCodes.codeHash, codeHash)).for('update');
    return row;
  },
  async listForPool(q: DbOrTx, poolId: string): Promise<(ActivationCodeRow & { seatsUsed: number })[]> {
    return q
      .select({
        id: activationCodes.id,
        poolId: activationCodes.poolId,
        codeHash: activationCodes.codeHash,
        codePrefix: activationCodes.codePrefix,
        label: activationCodes.label,
        seats: activationCodes.seats,
        expiresAt: activationCodes.expiresAt,
        revokedAt: activationCodes.revokedAt,
        createdBy: activationCodes.createdBy,
        createdAt: activationCodes.createdAt,
        // Qualified by hand: drizzle renders ${activationCodes.id} unqualified here, which the subquery reads as g.id.
        seatsUsed: sql<number>`(select count(*)::int from ${gateways} g where g.activation_code_id = activation_codes.id and g.revoked_at is null)`,
      })
      .from(activationCodes)
      .where(eq(activationCodes.poolId, poolId))
      .orderBy(activationCodes.createdAt);
  },
  async seatsUsed(q: DbOrTx, codeId: string): Promise<number> {
    const [r] = await q
      .select({ n: sql<number>`count(*)::int` })
      .from(gateways)
      .where(and(eq(gateways.activationCodeId, codeId), isNull(gateways.revokedAt)));
    return r?.n ?? 0;
  },
  async revoke(q: DbOrTx, id: string): Promise<ActivationCodeRow | undefined> {
    const [row] = await q
      .update(activationCodes)
      .set({ revokedAt: sql`coalesce(${activationCodes.revokedAt}, now())` })
      .where(eq(activationCodes.id, id))
      .returning();
    return row;
  },
};
