import type { Db } from '../db/database.js';
import { auditStore, type AuditFilter, type AuditRow } from './audit-store.js';

/** Reading the audit trail; rows are written by the service whose change they describe, in its transaction. */
export class AuditService {
  constructor(private readonly db: Db) {}

  /** One page, newest first; `nextBefore` is the cursor for the next page, null on the last. */
  async page(filter: AuditFilter): Promise<{ rows: AuditRow[]; nextBefore: number | null }> {
    const rows = await auditStore.query(this.db, filter);
    const last = rows.at(-1);
    return { rows, nextBefore: rows.length === filter.limit && last ? last.id : null };
  }
}
