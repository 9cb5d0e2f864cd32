import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayAuthenticator } from '../../server/auth/gateway-authenticator.js';
import { useHarness } from '../helpers/api-harness.js';

const h = useHarness();

describe('GatewayAuthenticator', () => {
  it('checks a burst of credentials together, each with its own answer', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId, 30);
    const good = await Promise.all(Array.from({ length: 25 }, () => h.enroll(code)));
    const revoked = await h.enroll(code);
    expect((await h.api('DELETE', `/api/v1/gateways/${revoked.gatewayId}`)).status).toBe(200);
    const wrongSecret = `${good[0]!.credential.slice(0, -4)}AAAA`;
    const unknown = `flg.${crypto.randomUUID()}.${'A'.repeat(43)}`;
    const notUuid = `flg.${'-'.repeat(36)}.${'A'.repeat(43)}`;
    const auth = new GatewayAuthenticator(h.db.database.db, { maxBatch: 256, lanes: 1 });
    const answers = await Promise.all([...good.map((g) => g.credential), revoked.credential, wrongSecret, unknown, notUuid, 'garbage'].map((c) => auth.authenticate(c)));
    expect(answers.slice(0, 25)).toEqual(good.map((g) => ({ kind: 'gateway', gatewayId: g.gatewayId, poolId })));
    expect(answers.slice(25)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
