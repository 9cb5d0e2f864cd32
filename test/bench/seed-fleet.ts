import crypto from 'node:crypto';
import type { Sql } from 'postgres';
import { hashSecret } from '../../server/auth/secrets.js';
import type { AgentSpec } from './fleet-messages.js';

export interface SeedGroup {
  readonly poolId: string;
  readonly count: number;
  readonly tags: number;
  readonly connections: number;
}

/** A hardware identifier in NeuronEX's form: base64 of a SHA-256 digest (44 characters). */
const hardwareId = (seed: string) => crypto.createHash('sha256').update(seed).digest('base64');

/**
 * Inserts gateways straight into SQL (enrolment is not what is measured), each with a fresh
 * credential `flg.<id>.<secret>` whose SHA-256 hex is stored, and its allocation set.
 */
export async function seedFleet(sql: Sql, groups: readonly SeedGroup[], firstIndex = 0): Promise<AgentSpec[]> {
  const specs: AgentSpec[] = [];
  const runId = crypto.randomBytes(3).toString('hex');
  let i = firstIndex;
  for (const g of groups) {
    const rows = [];
    for (let k = 0; k < g.count; k++, i++) {
      const gatewayId = crypto.randomUUID();
      const credential = `flg.${gatewayId}.${crypto.randomBytes(32).toString('base64url')}`;
      const spec: AgentSpec = { i, gatewayId, credential, hardwareId: hardwareId(`${runId}-${i}`) };
      specs.push(spec);
      rows.push({
        id: gatewayId,
        pool_id: g.poolId,
        name: `bench-${runId}-${String(i).padStart(5, '0')}`,
        hardware_id: spec.hardwareId,
        credential_hash: hashSecret(credential),
        alloc_tags: g.tags,
        alloc_connections: g.connections,
      });
    }
    for (let k = 0; k < rows.length; k += 1_000) await sql`insert into gateways ${sql(rows.slice(k, k + 1_000))}`;
  }
  await sql`analyze gateways`;
  return specs;
}
