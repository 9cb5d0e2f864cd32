import { z } from 'zod';
import { gatewayPage, poolView, type PoolView } from '../../shared/protocol/rest.js';
import { CliError, EXIT } from './errors.js';
import type { ApiClient } from './http-client.js';
import { isUuid } from '../../shared/protocol/uuid.js';

/** Pools and gateways may be named on the command line by id or by name. */

export async function listPools(api: ApiClient): Promise<PoolView[]> {
  return (await api.get('/api/v1/pools', z.array(poolView))).data;
}

export async function resolvePoolId(api: ApiClient, ref: string): Promise<string> {
  if (isUuid(ref)) return ref.toLowerCase();
  const pools = await listPools(api);
  const match = pools.find((p) => p.name === ref) ?? only(pools.filter((p) => p.name.toLowerCase() === ref.toLowerCase()));
  if (!match) throw new CliError(EXIT.notFound, `pool ${ref} does not exist (pools: ${pools.map((p) => p.name).join(', ') || 'none'})`);
  return match.id;
}

export async function resolveGatewayId(api: ApiClient, ref: string): Promise<string> {
  if (isUuid(ref)) return ref.toLowerCase();
  const page = (await api.get('/api/v1/gateways', gatewayPage, { q: ref, limit: 1000 })).data;
  const named = page.items.filter((g) => g.name === ref);
  const [first, ...others] = named;
  if (!first) throw new CliError(EXIT.notFound, `gateway ${ref} does not exist`);
  if (others.length) throw new CliError(EXIT.usage, `${named.length} gateways are named ${ref}; use an id: ${named.map((g) => g.id).join(', ')}`);
  return first.id;
}

/** Many names or ids at once: the gateway list is read page by page (1,000 a request), not once per name. */
export async function resolveGatewayIds(api: ApiClient, refs: readonly string[]): Promise<string[]> {
  const byName = new Map<string, string[]>();
  if (refs.some((r) => !isUuid(r))) {
    for (let offset = 0; ; offset += 1000) {
      const page = (await api.get('/api/v1/gateways', gatewayPage, { limit: 1000, offset })).data;
      for (const g of page.items) byName.set(g.name, [...(byName.get(g.name) ?? []), g.id]);
      if (offset + page.items.length >= page.total || page.items.length === 0) break;
    }
  }
  return refs.map((ref) => {
    if (isUuid(ref)) return ref.toLowerCase();
    const found = byName.get(ref) ?? [];
    if (found.length === 0) throw new CliError(EXIT.notFound, `gateway ${ref} does not exist`);
    if (found.length > 1) throw new CliError(EXIT.usage, `${found.length} gateways are named ${ref}; use an id: ${found.join(', ')}`);
    return found[0]!;
  });
}

function only<T>(items: T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}
