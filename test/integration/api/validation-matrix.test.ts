import { beforeAll, describe, expect, it } from 'vitest';
import type { AnyRouteSpec } from '../../../server/http/route-registry.js';
import { useHarness } from '../../helpers/api-harness.js';
import { expectDatabaseUnchanged, pinTokenLastUse, snapshotDatabase } from './db-snapshot.js';
import {
  concretePath,
  createFixtures,
  credentialFor,
  inputJsonSchema,
  rawRequest,
  routeName,
  sampleBody,
  type Fixtures,
  type JsonSchemaProp,
  type ProblemBody,
  verb,
} from './route-fixtures.js';

const h = useHarness();
let fx: Fixtures;
beforeAll(async () => {
  fx = await createFixtures(h);
});

const OVERSIZE = 300 * 1024;

function expectProblem(r: { status: number; contentType: string; body: ProblemBody }, status: number, name: string, label: string): void {
  expect(r.contentType, `${label}: ${r.status} ${JSON.stringify(r.body)}`).toMatch(/^application\/problem\+json/);
  expect({ status: r.status, name: r.body.name }, label).toEqual({ status, name });
  expect(r.body.status).toBe(status);
  expect(typeof r.body.type).toBe('string');
  expect(typeof r.body.detail).toBe('string');
}

function expectFieldNamed(body: ProblemBody, path: string): void {
  expect(body.errors?.map((e) => e.path), JSON.stringify(body)).toContain(path);
  expect(body.detail).toContain(path);
}

/** A value of the wrong JSON type for any scalar or array field. */
const WRONG_TYPE = { not: 'this' };

/** Whether a JSON Schema accepts an object at its top level (directly or in one of its branches). */
function acceptsObject(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const s = schema as { type?: unknown; anyOf?: unknown[]; oneOf?: unknown[] };
  if (s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'))) return true;
  return [...(s.anyOf ?? []), ...(s.oneOf ?? [])].some(acceptsObject);
}

/** Query strings are text: a repeated key (an array) is the wrong type for every field. */
function badQueryValues(key: string, p: JsonSchemaProp): string[] {
  const out = [`${key}=a&${key}=b`];
  if (p.type === 'integer' || p.type === 'number') out.push(`${key}=abc`, `${key}=1.5e`);
  if (p.enum) out.push(`${key}=not-one-of-them`);
  if (p.format === 'uuid') out.push(`${key}=not-a-uuid`);
  if (p.format === 'date-time') out.push(`${key}=yesterday`);
  return out;
}

describe('request validation on every route', () => {
  it('covers at least the known body and query routes', () => {
    const all = h.registry.all();
    expect(all.filter((s) => s.body).length).toBeGreaterThanOrEqual(9);
    expect(all.filter((s) => s.query).length).toBeGreaterThanOrEqual(2);
    expect(all.filter((s) => s.params).length).toBeGreaterThanOrEqual(10);
  });

  it('the database snapshot sees a real change (so "unchanged" below means something)', async () => {
    await pinTokenLastUse(h);
    const before = await snapshotDatabase(h);
    expect((await h.api('PATCH', `/api/v1/pools/${fx.poolId}`, { description: 'changed' })).status).toBe(200);
    const after = await snapshotDatabase(h);
    expect(after.pools?.rows).toBe(before.pools?.rows);
    expect(after.pools?.hash).not.toBe(before.pools?.hash);
    expect(after.audit_events?.rows).toBe((before.audit_events?.rows ?? 0) + 1);
  });

  it('every body route accepts its derived sample (so the mutations below test one fault each)', () => {
    for (const spec of h.registry.all().filter((s) => s.body)) {
      const r = spec.body!.safeParse(sampleBody(spec));
      expect(r.success, `${routeName(spec)}: ${JSON.stringify(r.error?.issues)}`).toBe(true);
    }
  });

  it('malformed JSON, a non-JSON content type and an oversize payload are refused on every write route, changing nothing', async () => {
    const writes = h.registry.all().filter((s) => s.method !== 'get');
    expect(writes.length).toBeGreaterThan(0);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of writes) {
        const path = concretePath(spec.path, fx);
        const token = credentialFor(spec, fx);
        const label = routeName(spec);

        const malformed = await rawRequest(h, verb(spec), path, { body: '{"name": "x", ', token });
        expectProblem(malformed, 400, 'validation-failed', `${label} malformed`);
        expect(malformed.body.errors, label).toEqual([{ path: 'body', message: expect.stringMatching(/malformed JSON/) }]);

        const padding = 'x'.repeat(OVERSIZE);
        const oversize = await rawRequest(h, verb(spec), path, { body: JSON.stringify({ ...sampleBody(spec), padding }), token });
        expectProblem(oversize, 413, 'payload-too-large', `${label} oversize`);

        if (spec.body) {
          const notJson = await rawRequest(h, verb(spec), path, { body: 'tags=1', contentType: 'application/x-www-form-urlencoded', token });
          expectProblem(notJson, 400, 'validation-failed', `${label} form-encoded`);
          expect(notJson.body.errors?.[0]?.path, label).toBe('body');
        }
      }
    });
  });

  for (const method of ['post', 'put', 'patch'] as const) {
    it(`${method.toUpperCase()} routes refuse unknown fields and wrongly typed fields by name, changing nothing`, async () => {
      const specs = h.registry.all().filter((s) => s.method === method && s.body);
      for (const spec of specs) {
        const path = concretePath(spec.path, fx);
        const token = credentialFor(spec, fx);
        const sample = sampleBody(spec);
        await expectDatabaseUnchanged(h, async () => {
          const unknown = await h.api<ProblemBody>(verb(spec), path, { ...sample, zzUnknownField: 1 }, token);
          expectProblem(unknown, 400, 'validation-failed', `${routeName(spec)} unknown field`);
          expectFieldNamed(unknown.body, 'body.zzUnknownField');
          expect(unknown.body.errors, routeName(spec)).toHaveLength(1);

          const properties = inputJsonSchema(spec.body!).properties ?? {};
          const props = Object.keys(properties);
          expect(props.length, routeName(spec)).toBeGreaterThan(0);
          for (const key of props) {
            // An object is the wrong type for every field except an object field: that one gets a string.
            const wrongValue = acceptsObject(properties[key]) ? 'not an object' : WRONG_TYPE;
            const wrong = await h.api<ProblemBody>(verb(spec), path, { ...sample, [key]: wrongValue }, token);
            expectProblem(wrong, 400, 'validation-failed', `${routeName(spec)} ${key}`);
            expect(wrong.body.errors?.map((e) => e.path), `${routeName(spec)} ${key}`).toEqual([`body.${key}`]);
            expect(wrong.body.detail).toContain(`body.${key}`);
          }

          const notAnObject = await h.api<ProblemBody>(verb(spec), path, [sample], token);
          expectProblem(notAnObject, 400, 'validation-failed', `${routeName(spec)} array body`);
          expect(notAnObject.body.errors?.[0]?.path).toBe('body');
        });
      }
    });
  }

  it('write routes that take no body refuse any field sent to them instead of ignoring it, changing nothing', async () => {
    const specs = h.registry.all().filter((s) => (s.method === 'post' || s.method === 'put' || s.method === 'patch') && !s.body);
    expect(specs.length).toBeGreaterThan(0);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of specs) {
        const path = concretePath(spec.path, fx);
        const token = credentialFor(spec, fx);
        const unknown = await h.api<ProblemBody>(verb(spec), path, { force: true }, token);
        expectProblem(unknown, 400, 'validation-failed', `${routeName(spec)} field on a body-less route`);
        expectFieldNamed(unknown.body, 'body.force');
        const array = await h.api<ProblemBody>(verb(spec), path, [1], token);
        expectProblem(array, 400, 'validation-failed', `${routeName(spec)} array on a body-less route`);
        expect(array.body.errors?.map((e) => e.path)).toEqual(['body']);
      }
    });
  });

  it('GET routes with a query schema refuse unknown and wrongly typed parameters by name, changing nothing', async () => {
    const specs = h.registry.all().filter((s) => s.method === 'get' && s.query);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of specs) {
        const path = concretePath(spec.path, fx);
        const token = credentialFor(spec, fx);
        expect((await h.api(verb(spec), path, undefined, token)).status, routeName(spec)).toBe(200);

        const unknown = await h.api<ProblemBody>(verb(spec), `${path}?zzUnknown=1`, undefined, token);
        expectProblem(unknown, 400, 'validation-failed', `${routeName(spec)} unknown query`);
        expectFieldNamed(unknown.body, 'query.zzUnknown');

        for (const [key, prop] of Object.entries(inputJsonSchema(spec.query!).properties ?? {})) {
          for (const qs of badQueryValues(key, prop)) {
            const r = await h.api<ProblemBody>(verb(spec), `${path}?${qs}`, undefined, token);
            expectProblem(r, 400, 'validation-failed', `${routeName(spec)}?${qs}`);
            expect(r.body.errors?.map((e) => e.path), `${routeName(spec)}?${qs}`).toEqual([`query.${key}`]);
          }
        }
      }
    });
  });

  it('routes with a path id refuse a malformed id by name and an unknown id with 404, changing nothing', async () => {
    const specs = h.registry.all().filter((s: AnyRouteSpec) => s.params);
    await expectDatabaseUnchanged(h, async () => {
      for (const spec of specs) {
        const token = credentialFor(spec, fx);
        const body = spec.body ? sampleBody(spec) : undefined;
        const r = await h.api<ProblemBody>(verb(spec), concretePath(spec.path, fx, 'not-a-uuid'), body, token);
        expectProblem(r, 400, 'validation-failed', `${routeName(spec)} bad id`);
        expectFieldNamed(r.body, 'params.id');
        if (!spec.body) {
          const missing = await h.api<ProblemBody>(verb(spec), concretePath(spec.path, fx, crypto.randomUUID()), undefined, token);
          expectProblem(missing, 404, 'not-found', `${routeName(spec)} unknown id`);
        }
      }
    });
  });
});
