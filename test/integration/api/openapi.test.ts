import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../../helpers/api-harness.js';

const h = useHarness();

interface Operation {
  operationId: string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: boolean } }> };
  responses: Record<string, unknown>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

const openApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

async function fetchDoc(): Promise<OpenApiDoc> {
  const r = await h.api<OpenApiDoc>('GET', '/api/v1/openapi.json', undefined, null);
  expect(r.status).toBe(200);
  expect(r.contentType).toMatch(/^application\/json/);
  return r.body;
}

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 according to @seriousme/openapi-schema-validator', async () => {
    const doc = await fetchDoc();
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 1)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it('the validator does catch a broken document (so the check above means something)', async () => {
    const doc = structuredClone(await fetchDoc()) as unknown as { paths: Record<string, Record<string, { responses?: unknown }>> };
    delete doc.paths['/api/v1/pools']!.get!.responses;
    (doc.paths['/api/v1/pools']!.get as Record<string, unknown>).parameters = [{ name: 'x', in: 'nowhere' }];
    expect((await new Validator().validate(doc as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('lists exactly the registered routes, each with its method, path parameters, body and problem responses', async () => {
    const doc = await fetchDoc();
    const specs = h.registry.all();
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const registered = specs.map((s) => `${s.method.toUpperCase()} ${openApiPath(s.path)}`);
    expect(registered.length).toBeGreaterThanOrEqual(25);
    expect(listed.sort()).toEqual([...registered].sort());

    const operationIds = new Set<string>();
    for (const spec of specs) {
      const op = doc.paths[openApiPath(spec.path)]?.[spec.method];
      const label = `${spec.method} ${spec.path}`;
      expect(op, label).toBeDefined();
      operationIds.add(op!.operationId);
      const pathParams = [...spec.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      expect(op!.parameters.filter((p) => p.in === 'path').map((p) => p.name), label).toEqual(pathParams);
      expect(op!.parameters.filter((p) => p.in === 'path').every((p) => p.required), label).toBe(true);
      if (spec.query) expect(op!.parameters.some((p) => p.in === 'query'), label).toBe(true);
      if (spec.body) {
        const schema = op!.requestBody?.content['application/json']?.schema;
        expect(schema, label).toBeDefined();
        // Unknown fields are refused, and the document says so.
        expect(schema!.additionalProperties, label).toBe(false);
      } else {
        expect(op!.requestBody, label).toBeUndefined();
      }
      expect(Object.keys(op!.responses), label).toContain('default');
      expect(op!.security.length === 0, label).toBe(spec.auth === 'public');
    }
    expect(operationIds.size).toBe(specs.length);
  });

  it('describes the elastic and pre-emption policies with one worked example each (issue 21)', async () => {
    const doc = (await fetchDoc()) as unknown as { paths: Record<string, Record<string, { summary: string; description?: string }>> };
    const elastic = doc.paths['/api/v1/pools/{id}/policy']!.put!;
    expect(elastic.description).toMatch(/Worked example: headroom 0\.25, step 0\.25, cooldownSec 300.*grows to 225.*shrinks to 125.*to 50 \(its min\)/s);
    const preemption = doc.paths['/api/v1/gateways/{id}/pending']!.get!;
    expect(preemption.description).toMatch(/Worked example: a 200-tag pool.*A is lowered to 100.*`waitsFor` A owing 50 until the expiry of its 150-tag lease/s);
    // Summaries stay one line; the policies live in the descriptions.
    for (const op of [elastic, preemption]) expect(op.summary.length).toBeLessThan(120);
  });
});
