import { sql } from 'drizzle-orm';
import type { Role } from '../../shared/protocol/rest.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { AppError, notFound } from '../errors/app-error.js';
import { auditStore } from '../audit/audit-store.js';
import { actorLabel, type Actor } from './actor.js';
import { API_TOKEN_PREFIX, hashSecret, newSecret } from './secrets.js';
import { tokenStore, type ApiTokenRow } from './token-store.js';

const BOOTSTRAP_LOCK_KEY = 0x666c6562;
const TOUCH_EVERY_MS = 60_000;

export class TokenService {
  constructor(
    private readonly db: Db,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  /** Returns the user actor for a valid API token, or undefined. */
  async authenticate(token: string): Promise<Actor | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const row = await tokenStore.findActiveByHash(this.db, hashSecret(token));
    if (!row) return undefined;
    // Coarse on purpose (the store's guard says the same): a token used within the minute costs
    // no statement, so a console polling at 10,000 gateways does not write on every request.
    const fresh = row.lastUsedAt !== null && Date.now() - row.lastUsedAt.getTime() < TOUCH_EVERY_MS;
    if (!fresh) void tokenStore.touch(this.db, row.id).catch((err: unknown) => this.logger?.warn({ err }, 'could not record when an API token was last used'));
    return { kind: 'user', id: row.id, name: row.name, role: row.role, via: 'token' };
  }

  async create(input: { name: string; role: Role; expiresAt?: Date | undefined }, actor: Actor): Promise<{ row: ApiTokenRow; token: string }> {
    const token = newSecret(API_TOKEN_PREFIX);
    const row = await this.db.transaction(async (tx) => {
      const created = await tokenStore.insert(tx, {
        name: input.name,
        role: input.role,
        tokenHash: hashSecret(token),
        tokenPrefix: token.slice(0, 7),
        expiresAt: input.expiresAt ?? null,
      });
      await auditStore.append(tx, [
        { actor: actorLabel(actor), action: 'token.created', subject: created.id, after: { name: created.name, role: created.role } },
      ]);
      return created;
    });
    return { row, token };
  }

  list(): Promise<ApiTokenRow[]> {
    return tokenStore.list(this.db);
  }

  async revoke(id: string, actor: Actor): Promise<ApiTokenRow> {
    return this.db.transaction(async (tx) => {
      const row = await tokenStore.revoke(tx, id);
      if (!row) throw notFound('token', id);
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'token.revoked', subject: id, before: { name: row.name, role: row.role } }]);
      return row;
    });
  }

  /**
   * Makes sure an admin can sign in. A configured ADMIN_TOKEN is registered (hashed); otherwise,
   * on a database with no admin token, one is generated and returned so the caller can print it once.
   * Replicas starting together serialise on an advisory lock, so exactly one token is made.
   */
  async bootstrapAdmin(configured: string | undefined): Promise<string | undefined> {
    if (configured !== undefined && !configured.startsWith(API_TOKEN_PREFIX)) {
      throw new AppError('validation-failed', `ADMIN_TOKEN must start with ${API_TOKEN_PREFIX}`);
    }
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
      if (configured) {
        const hash = hashSecret(configured);
        if (await tokenStore.findActiveByHash(tx, hash)) return undefined;
        await tokenStore.insert(tx, { name: 'bootstrap-admin', role: 'admin', tokenHash: hash, tokenPrefix: configured.slice(0, 7) });
        await auditStore.append(tx, [{ actor: 'system:bootstrap', action: 'token.created', subject: 'bootstrap-admin', after: { role: 'admin', source: 'ADMIN_TOKEN' } }]);
        return undefined;
      }
      if ((await tokenStore.countActiveAdmins(tx)) > 0) return undefined;
      const token = newSecret(API_TOKEN_PREFIX);
      await tokenStore.insert(tx, { name: 'bootstrap-admin', role: 'admin', tokenHash: hashSecret(token), tokenPrefix: token.slice(0, 7) });
      await auditStore.append(tx, [{ actor: 'system:bootstrap', action: 'token.created', subject: 'bootstrap-admin', after: { role: 'admin', source: 'generated' } }]);
      return token;
    });
  }
}
