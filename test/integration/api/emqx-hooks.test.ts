import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MQTT_ROOT, topics } from '../../../shared/protocol/mqtt-topics.js';
import { startHarness, type Harness } from '../../helpers/api-harness.js';

const HOOK = 'emqx-hook-token-0123456789abcdef';

/**
 * Finding 8 of issue 18: EMQX HTTP authentication and authorization, as contract tests from EMQX 5's
 * documented formats (docs.emqx.com, access-control/authn/http and authz/http): EMQX POSTs the body
 * its template makes, with every placeholder substituted as a string, and reads `result` (allow,
 * deny, ignore) and, for authentication, `is_superuser` from a 200 JSON answer.
 */
describe('EMQX 5 HTTP authentication and authorization endpoints', () => {
  let h: Harness;
  let gatewayId: string;
  let credential: string;
  let other: string;
  beforeAll(async () => {
    h = await startHarness({ mqtt: { emqxHookToken: HOOK, username: 'floatlease-controller', password: 'controller-secret' } });
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = (await h.api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 2 })).body.code;
    ({ gatewayId, credential } = await h.enroll(code));
    other = (await h.enroll(code)).gatewayId;
  });
  afterAll(async () => {
    await h?.close();
  });

  /** As EMQX sends it: POST, JSON, the header configured on the authenticator. */
  const emqx = async (path: string, body: Record<string, string>, token: string | null = HOOK) => {
    const res = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'x-emqx-hook-token': token } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
  };
  const authn = (username: string, password: string) => emqx('/api/v1/emqx/authn', { clientid: `agent-${username}`, username, password });
  const authz = (username: string, action: string, topic: string) => emqx('/api/v1/emqx/authz', { clientid: 'c', username, action, topic, qos: '1', retain: 'false' });

  it('authenticates a gateway by its credential: allow, never superuser, as application/json', async () => {
    const r = await authn(gatewayId, credential);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/json/);
    expect(r.body).toEqual({ result: 'allow', is_superuser: false });
  });

  it.each([
    ['another gateway\'s credential', () => [other, credential], 'deny'],
    ['a wrong password', () => [gatewayId, 'fl_wrong'], 'deny'],
    ['an empty password', () => [gatewayId, ''], 'deny'],
    ['a name that is no gateway (left to the next authenticator)', () => ['dashboard-user', 'x'], 'ignore'],
    ['the controller account', () => ['floatlease-controller', 'controller-secret'], 'allow'],
    ['the controller name with a wrong password', () => ['floatlease-controller', 'nope'], 'deny'],
  ] as const)('answers %s with %s', async (_what, creds, result) => {
    const [u, p] = creds();
    expect((await authn(u!, p!)).body).toEqual({ result, is_superuser: false });
  });

  it('authorizes a gateway within its own subtree only', async () => {
    expect((await authz(gatewayId, 'publish', topics.up(gatewayId, 'renew'))).body).toEqual({ result: 'allow' });
    expect((await authz(gatewayId, 'subscribe', topics.lease(gatewayId))).body).toEqual({ result: 'allow' });
    expect((await authz(gatewayId, 'publish', topics.lease(gatewayId))).body).toEqual({ result: 'deny' });
    expect((await authz(gatewayId, 'publish', topics.up(other, 'renew'))).body).toEqual({ result: 'deny' });
    expect((await authz(gatewayId, 'subscribe', `${MQTT_ROOT}/+/lease`)).body).toEqual({ result: 'deny' });
    expect((await authz('floatlease-controller', 'subscribe', `$share/floatlease/${MQTT_ROOT}/+/up/+`)).body).toEqual({ result: 'allow' });
    expect((await authz('someone', 'publish', 'x')).body).toEqual({ result: 'ignore' });
  });

  it('answers only EMQX (the hook token) and refuses malformed requests', async () => {
    expect((await emqx('/api/v1/emqx/authn', { username: gatewayId, password: credential }, null)).status).toBe(401);
    expect((await emqx('/api/v1/emqx/authn', { username: gatewayId, password: credential }, 'wrong-token-0123456789abcdef0')).status).toBe(401);
    expect((await emqx('/api/v1/emqx/authz', { username: gatewayId, action: 'delete', topic: 't' })).status).toBe(400);
  });
});
