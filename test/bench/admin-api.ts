import type { PoolView } from '../../shared/protocol/rest.js';

export class AdminApiError extends Error {}

/** The few REST calls the bench makes as an administrator. */
export class AdminApi {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new AdminApiError(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createPool(name: string, leaseTtlSeconds: number, license: string): Promise<PoolView> {
    const pool = await this.call<PoolView>('POST', '/api/v1/pools', { name, leaseTtlSeconds });
    return this.call<PoolView>('PUT', `/api/v1/pools/${pool.id}/license`, { license });
  }

  pool(id: string): Promise<PoolView> {
    return this.call<PoolView>('GET', `/api/v1/pools/${id}`);
  }

  setTtl(poolId: string, leaseTtlSeconds: number): Promise<PoolView> {
    return this.call<PoolView>('PATCH', `/api/v1/pools/${poolId}`, { leaseTtlSeconds });
  }

  setAllocation(gatewayId: string, tags: number, connections: number): Promise<unknown> {
    return this.call('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags, connections });
  }

  jwks(): Promise<unknown> {
    return this.call('GET', '/.well-known/jwks.json');
  }
}
