import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnyRouteSpec } from '../../../server/http/route-registry.js';
import { ADMIN_TOKEN, useHarness } from '../../helpers/api-harness.js';
import { expectDatabaseUnchanged } from './db-snapshot.js';
import { concretePath, createFixtures, rawRequest, routeName, sampleBody, verb, type Fixtures, type ProblemBody } from './route-fixtures.js';

const h = useHarness();
let fx: Fixtures;
let viewer: string;
let operator: string;
beforeAll(async () => {
  fx = await createFixtures(h);
  viewer = await h.token('viewer');
  operator = await h.token('operator');
});

const roleOf = (s: AnyRouteSpec) => (typeof s.auth === 'object' ? s.auth.role : undefined);

async function call(spec: AnyRouteSpec, authorization: string | undefined) {
  return rawRequest(h, verb(spec), concretePath(spec.path, fx), {
    ...(spec.body ? { body: JSON.stringify(sampleBody(spec)) } : {}),
    headers: authorization === undefined ? {} : { authorization },
  });
}

function expectRefused(r: { status: number; contentType: string; body: ProblemBody }, status: number, name: string, label: string): void {
  expect({ status: r.status, name: r.body?.name }, `${label}: ${JSON.stringify(r.body)}`).toEqual({ status, name });
  expect(r.contentType, label).toMatch(/^application\/problem\+json/);
}

describe('authentication and roles on every route', () => {
  it('the matrix covers every kind of route', () => {
    const specs = h.registry.all();
    expect(specs.filter((s) => s.auth === 'public').map(routeName)).toEqual(
      expect.arrayContaining(['POST /api/v1/enroll', 'GET /.well-known/jwks.json', 'GET /api/v1/openapi.json']),
    );
    expect(specs.filter((s) => s.auth === 'gateway').length).toBeGreaterThanOrEqual(4);
    expect(specs.filter((s) => roleOf(s) === 'admin').length).toBeGreaterThanOrEqual(5);
    expect(specs.filter((s) => roleOf(s) === 'operator').length).toBeGreaterThanOrEqual(4);
  });

  it('no token, a malformed header and invalid tokens get 401 on every non-public route', async () => {
    const invalid = [
      undefined,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      `Bearer fl_${crypto.randomBytes(32).toString('base64url')}`,
      `Bearer flg.${crypto.randomUUID()}.${crypto.randomBytes(32).toString('base64url')}`,
      // A real gateway id with a wrong secret.
      `Bearer flg.${fx.gatewayId}.${crypto.randomBytes(32).toString('base64url')}`,
      'Bearer not-a-token-at-all',
    ];
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of h.registry.all().filter((s) => s.auth !== 'public')) {
        for (const header of invalid) {
          expectRefused(await call(spec, header), 401, 'unauthorized', `${routeName(spec)} with ${header ?? 'no header'}`);
        }
      }
    });
  });

  it('a viewer token gets 403 on every route that needs more than viewer, and works on the viewer routes', async () => {
    const specs = h.registry.all();
    const above = specs.filter((s) => roleOf(s) === 'operator' || roleOf(s) === 'admin');
    // Every write route with a role is among them.
    const roleWrites = specs.filter((s) => roleOf(s) && s.method !== 'get');
    expect(roleWrites.every((s) => above.includes(s))).toBe(true);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of above) expectRefused(await call(spec, `Bearer ${viewer}`), 403, 'forbidden', `viewer on ${routeName(spec)}`);
    });
    for (const spec of specs.filter((s) => roleOf(s) === 'viewer')) {
      const r = await call(spec, `Bearer ${viewer}`);
      expect(r.status, `viewer on ${routeName(spec)}: ${JSON.stringify(r.body)}`).toBe(200);
    }
  });

  it('the 403 names the role needed and the role held', async () => {
    const r = await h.api<ProblemBody>('POST', '/api/v1/pools', { name: 'nope' }, viewer);
    expect(r.status).toBe(403);
    expect(r.body.detail).toMatch(/admin/);
    expect(r.body.detail).toMatch(/viewer/);
  });

  it('an operator token gets 403 on every admin-only route', async () => {
    const adminOnly = h.registry.all().filter((s) => roleOf(s) === 'admin');
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of adminOnly) expectRefused(await call(spec, `Bearer ${operator}`), 403, 'forbidden', `operator on ${routeName(spec)}`);
    });
  });

  it('gateway credentials do not work on administrative routes', async () => {
    const adminRoutes = h.registry.all().filter((s) => roleOf(s));
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of adminRoutes) {
        const r = await call(spec, `Bearer ${fx.credential}`);
        expect([401, 403], `gateway on ${routeName(spec)}: ${r.status}`).toContain(r.status);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
      }
    });
  });

  it('API tokens of every role get 401 on the agent routes', async () => {
    const agentRoutes = h.registry.all().filter((s) => s.auth === 'gateway');
    expect(agentRoutes.every((s) => s.path.startsWith('/api/v1/agent/'))).toBe(true);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of agentRoutes) {
        for (const token of [ADMIN_TOKEN, operator, viewer]) {
          expectRefused(await call(spec, `Bearer ${token}`), 401, 'unauthorized', `API token on ${routeName(spec)}`);
        }
      }
    });
  });

  it('the right credential passes authentication on every route (the refusals above are about the credential)', async () => {
    // Agent routes with the gateway credential, administrative routes with the admin token: none is refused for auth.
    for (const spec of h.registry.all().filter((s) => s.method === 'get')) {
      const auth = spec.auth === 'gateway' ? `Bearer ${fx.credential}` : spec.auth === 'public' ? undefined : `Bearer ${ADMIN_TOKEN}`;
      const r = await call(spec, auth);
      expect(r.status, `${routeName(spec)}: ${JSON.stringify(r.body)}`).toBe(200);
    }
    const usage = await h.api('POST', '/api/v1/agent/usage', { tags: 1, connections: 1 }, fx.credential);
    expect(usage.status).toBe(204);
  });
});
