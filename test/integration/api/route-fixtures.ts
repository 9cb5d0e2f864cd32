import crypto from 'node:crypto';
import { z } from 'zod';
import type { AnyRouteSpec } from '../../../server/http/route-registry.js';
import { ADMIN_TOKEN, randomHardwareId, type ApiResponse, type Harness } from '../../helpers/api-harness.js';

/** Real objects for routes with path parameters, so requests reach validation of a live id. */
export interface Fixtures {
  readonly poolId: string;
  readonly code: string;
  readonly codeId: string;
  readonly gatewayId: string;
  readonly credential: string;
  readonly tokenId: string;
}

export async function createFixtures(h: Harness): Promise<Fixtures> {
  const poolId = await h.pool({ tags: 100, connections: 10, plugins: ['OPC UA'] });
  const created = await h.api<{ id: string; code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 });
  if (created.status !== 201) throw new Error(`code create failed: ${JSON.stringify(created.body)}`);
  const gw = await h.enroll(created.body.code);
  const token = await h.api<{ id: string }>('POST', '/api/v1/tokens', { name: 'fixture-token', role: 'viewer' });
  if (token.status !== 201) throw new Error(`token create failed: ${JSON.stringify(token.body)}`);
  return { poolId, code: created.body.code, codeId: created.body.id, gatewayId: gw.gatewayId, credential: gw.credential, tokenId: token.body.id };
}

const idOfResource: Readonly<Record<string, keyof Fixtures>> = {
  pools: 'poolId',
  gateways: 'gatewayId',
  'activation-codes': 'codeId',
  tokens: 'tokenId',
};

/** `/api/v1/pools/:id/license` → `/api/v1/pools/<real pool id>/license`; `id` replaces every parameter when given. */
export function concretePath(path: string, fx: Fixtures, id?: string): string {
  return path.replace(/\/([a-z-]+)\/:[A-Za-z0-9_]+/g, (_m, resource: string) => {
    const key = idOfResource[resource];
    if (!key) throw new Error(`no fixture for /${resource}/:param; add one to route-fixtures.ts`);
    return `/${resource}/${id ?? fx[key]}`;
  });
}

/** The credential that passes a route's authentication (admin for every role). */
export function credentialFor(spec: AnyRouteSpec, fx: Fixtures): string | null {
  if (spec.auth === 'public') return null;
  if (spec.auth === 'gateway') return fx.credential;
  return ADMIN_TOKEN;
}

export const routeName = (spec: AnyRouteSpec) => `${spec.method.toUpperCase()} ${spec.path}`;

/** fetch upper-cases only some methods; a lower-case `patch` is sent as is and refused by Node's parser. */
export const verb = (spec: AnyRouteSpec) => spec.method.toUpperCase();

export interface JsonSchemaProp {
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  items?: JsonSchemaProp;
}

export interface ObjectJsonSchema {
  properties?: Record<string, JsonSchemaProp>;
  required?: string[];
}

export function inputJsonSchema(schema: z.ZodType): ObjectJsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as ObjectJsonSchema;
}

/** Valid bodies that cannot be derived from the JSON schema alone (patterns). */
const sampleOverrides: Readonly<Record<string, Record<string, unknown>>> = {
  'POST /api/v1/enroll': { activationCode: 'FLAC-0000-0000-0000-0000-0000', hardwareId: randomHardwareId() },
  // At least one item; an unknown gateway id is a 404 after validation, which is what the matrix wants.
  'POST /api/v1/gateways/allocations': { mode: 'set', items: [{ gatewayId: crypto.randomUUID(), tags: 1 }] },
  'POST /api/v1/gateways/release': { gatewayIds: [crypto.randomUUID()] },
};

function sampleValue(p: JsonSchemaProp): unknown {
  if (p.enum && p.enum.length > 0) return p.enum[0];
  switch (p.type) {
    case 'string':
      if (p.format === 'uuid') return crypto.randomUUID();
      if (p.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      return 'x'.repeat(Math.max(p.minLength ?? 1, 8));
    case 'integer':
    case 'number':
      return Math.max(p.minimum ?? 1, (p.exclusiveMinimum ?? 0) + 1);
    case 'boolean':
      return false;
    case 'array':
      return [];
    default:
      return undefined;
  }
}

/**
 * A body the route's own schema accepts: required fields derived from the JSON schema, or an
 * override. Callers check it with `spec.body.safeParse`, so a new route whose sample cannot be
 * derived fails loudly instead of being skipped.
 */
export function sampleBody(spec: AnyRouteSpec): Record<string, unknown> {
  const override = sampleOverrides[routeName(spec)];
  if (override) return { ...override };
  if (!spec.body) return {};
  const js = inputJsonSchema(spec.body);
  const out: Record<string, unknown> = {};
  for (const key of js.required ?? []) out[key] = sampleValue(js.properties?.[key] ?? {});
  return out;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  name: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Sends a raw body with explicit headers (the harness's `api` always JSON-encodes). */
export async function rawRequest(
  h: Harness,
  method: string,
  path: string,
  opts: { body?: string; contentType?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse<ProblemBody>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(h.url + path, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  // The CSV exports answer text/csv; every other answer, and every refusal, is JSON.
  const json = text && !contentType.startsWith('text/csv');
  return { status: res.status, body: (json ? JSON.parse(text) : undefined) as ProblemBody, contentType };
}
