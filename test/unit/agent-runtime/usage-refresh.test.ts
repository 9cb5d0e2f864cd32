import { describe, expect, it } from 'vitest';
import { ControllerLink, type ControllerLinkOptions } from '../../../agent/controller-link.js';
import type { ControllerClient } from '../../../agent/controller/controller-api.js';
import type { UsageSource } from '../../../agent/usage/usage-source.js';
import { captureLogger, CREDENTIAL, GATEWAY_ID } from './fakes.js';

/**
 * Issue 20: the console showed "usage reported 12–16 min ago" for agents reading usage every few
 * seconds. The agent sent a reading only when it changed, and the controller stamps the time of
 * each report, so a steady gateway looked stale. Now an unchanged reading is sent again once the
 * last report is `usageRefreshMs` old. No transport is up, so reports go over HTTP.
 */
describe('agent usage reports', () => {
  function link(usageRefreshMs?: number) {
    let mono = 1_000_000;
    let reading: { tags: number; connections: number } | undefined = { tags: 120, connections: 3 };
    const sent: { tags: number; connections: number }[] = [];
    const controller = {
      usage: async (_credential: string, u: { tags: number; connections: number }) => void sent.push({ ...u }),
    } as unknown as ControllerClient;
    const usage = { current: () => reading } as unknown as UsageSource;
    const opts = {
      identity: { gatewayId: GATEWAY_ID, credential: CREDENTIAL },
      holder: { renewDueInMs: () => 60_000, msLeft: () => 0, lastAcceptedSeq: () => undefined, current: () => undefined },
      pipeline: {},
      controller,
      transports: () => [],
      usage,
      logger: captureLogger().logger,
      clock: { monotonicMs: () => mono },
      failoverAfterMs: 1_000,
      onAuthRefused: () => undefined,
      ...(usageRefreshMs === undefined ? {} : { usageRefreshMs }),
    } as unknown as ControllerLinkOptions;
    return {
      link: new ControllerLink(opts),
      sent,
      advance: (ms: number) => void (mono += ms),
      read: (r: typeof reading) => void (reading = r),
    };
  }

  it('sends an unchanged reading again once the last report is a minute old (default)', async () => {
    const t = link();
    await t.link.reportUsage();
    expect(t.sent).toHaveLength(1);
    t.advance(10_000);
    await t.link.reportUsage();
    expect(t.sent, 'an unchanged reading 10 s later is not sent').toHaveLength(1);
    t.advance(50_000);
    await t.link.reportUsage();
    expect(t.sent, 'the same reading 60 s after the last report is sent again').toHaveLength(2);
    expect(t.sent[1]).toEqual({ tags: 120, connections: 3 });
  });

  it('sends a changed reading at once, and refreshes on its own interval when set', async () => {
    const t = link(5_000);
    await t.link.reportUsage();
    t.advance(1_000);
    t.read({ tags: 130, connections: 3 });
    await t.link.reportUsage();
    expect(t.sent.map((u) => u.tags)).toEqual([120, 130]);
    t.advance(4_999);
    await t.link.reportUsage();
    expect(t.sent).toHaveLength(2);
    t.advance(1);
    await t.link.reportUsage();
    expect(t.sent.map((u) => u.tags)).toEqual([120, 130, 130]);
  });
});
