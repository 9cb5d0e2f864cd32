import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, useHarness } from '../../helpers/api-harness.js';
import { pinTokenLastUse, snapshotDatabase } from '../api/db-snapshot.js';
import { rawRequest } from '../api/route-fixtures.js';

// Issue 15, findings 4 and 6: malformed URLs and bodies sent to routes that take none.
const h = useHarness();
beforeAll(async () => {
  await h.pool();
});

describe('finding 4: malformed percent-encoding in a path', () => {
  it.each(['/api/v1/pools/%ff', '/api/v1/pools/%E0%A4%A', '/api/v1/gateways/%', '/api/v1/pools/%c0%af/license'])(
    'GET %s → 400 problem+json, unauthenticated or not',
    async (p) => {
      for (const token of [null, undefined]) {
        const r = await rawRequest(h, 'GET', p, token === null ? { token: null } : {});
        expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
      }
      const authed = await rawRequest(h, 'GET', p, { token: ADMIN_TOKEN });
      expect({ status: authed.status, name: authed.body.name }).toEqual({ status: 400, name: 'validation-failed' });
    },
  );
});

describe('finding 6: routes without a body refuse one', () => {
  it('POST /signing-keys/rotate with an XML body → 415 and no new key', async () => {
    await pinTokenLastUse(h);
    const before = await snapshotDatabase(h);
    const keysBefore = h.services.keys.keys().length;
    for (const contentType of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const r = await rawRequest(h, 'POST', '/api/v1/signing-keys/rotate', { token: ADMIN_TOKEN, body: '<rotate/>', contentType });
      expect({ status: r.status, name: r.body.name }, contentType).toEqual({ status: 415, name: 'unsupported-media-type' });
    }
    // A non-empty JSON body is refused too (400: its fields are unknown).
    const json = await rawRequest(h, 'POST', '/api/v1/signing-keys/rotate', { token: ADMIN_TOKEN, body: '{"x":1}' });
    expect(json.status).toBe(400);
    expect(h.services.keys.keys().length).toBe(keysBefore);
    expect(await snapshotDatabase(h)).toEqual(before);
  });

  it('a DELETE with a body is refused and deletes nothing, an empty POST still works', async () => {
    const gw = await h.enroll(await h.code(await h.pool()));
    const xml = await rawRequest(h, 'DELETE', `/api/v1/gateways/${gw.gatewayId}`, { token: ADMIN_TOKEN, body: '<x/>', contentType: 'application/xml' });
    expect(xml.status).toBe(415);
    const json = await rawRequest(h, 'DELETE', `/api/v1/gateways/${gw.gatewayId}`, { token: ADMIN_TOKEN, body: '{"force":true}' });
    expect(json.status).toBe(400);
    expect((await h.api('GET', `/api/v1/gateways/${gw.gatewayId}`)).status).toBe(200);
    const rotate = await rawRequest(h, 'POST', '/api/v1/signing-keys/rotate', { token: ADMIN_TOKEN });
    expect(rotate.status).toBe(200);
  });
});
