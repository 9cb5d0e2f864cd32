import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, useHarness } from '../../helpers/api-harness.js';

const h = useHarness();

/**
 * API answers carry fleet data for whoever holds a token: no browser cache keeps them (Chromium
 * stored every gateway page in its disk cache and revalidated it), and each says how long the
 * controller's handler took (Server-Timing), which tells a slow server from a slow page.
 */
describe('API response headers', () => {
  it('answers, refusals included, are not stored; the handler time is given', async () => {
    const ok = await fetch(`${h.url}/api/v1/gateways?limit=5`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('server-timing')).toMatch(/^app;dur=\d+(\.\d)?$/);
    expect(ok.headers.get('etag')).toBeNull();
    const refused = await fetch(`${h.url}/api/v1/gateways`, { headers: { authorization: 'Bearer fl_not-a-token' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });

  it('the public key set keeps its own caching', async () => {
    const res = await fetch(`${h.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
  });
});
