import crypto from 'node:crypto';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Sql } from 'postgres';
import { helloRequestMessage } from '../../shared/protocol/agent-messages.js';
import { topics } from '../../shared/protocol/mqtt-topics.js';
import type { Tx } from '../db/database.js';
import { gateways } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { BrokerLink } from './broker-link.js';

export interface HelloRoundDeps {
  readonly sql: Sql;
  readonly link: BrokerLink;
  /** Marks a gateway offline if `stillGone` holds under its row lock (PresenceService.setOfflineIf). */
  setOfflineIf(gatewayId: string, transport: string, stillGone: (tx: Tx) => Promise<boolean>): Promise<void>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface HelloRoundResult {
  readonly round: string;
  /** Gateways shown online over MQTT when the round began (each was asked to say hello). */
  readonly asked: number;
  /** Those that said nothing within the window and were marked offline. */
  readonly offline: readonly string[];
}

/**
 * Presence at controller start with an external broker (PRODUCT F3, issue 14). Agents stay
 * connected to the broker across a controller restart, so the gateways table may be right; the
 * retained presence messages (the bridge subscribes to them unshared) bring the wills that fired
 * meanwhile. What neither catches is a gateway whose agent vanished without its will reaching the
 * retained topic (a broker restarted without persistence, a will lost): it would stay "online"
 * for good, and an on-disconnect pool would never get its points back (ghost online).
 *
 * The round: ask every gateway shown online over MQTT to say hello again (`down/hello`, QoS 1, not
 * retained), wait `windowMs`, then mark offline, once, each one the controller has not heard from
 * since the round began (its hello is answered with a lease, which stamps `last_seen_at`; going
 * online stamps `presence_changed_at`). The check runs under the gateway's row lock, so an agent
 * heard from at the last moment stays online.
 */
export async function runHelloRound(deps: HelloRoundDeps, windowMs: number, signal?: AbortSignal): Promise<HelloRoundResult> {
  const now = deps.now ?? Date.now;
  const round = crypto.randomUUID();
  await until(() => deps.link.isConnected(), Math.max(windowMs, 10_000), signal);
  const startedAt = new Date(now());
  const rows = await deps.sql<{ id: string }[]>`
    select id from "gateways" where online and transport = 'mqtt' and revoked_at is null order by id`;
  const payload = JSON.stringify(helloRequestMessage.parse({ round }));
  let published = 0;
  await Promise.all(
    rows.map(({ id }) =>
      deps.link.publish(topics.helloRequest(id), payload, { qos: 1, retain: false }).then(
        () => void (published += 1),
        (err: unknown) => deps.logger.warn({ err, gatewayId: id }, 'hello round: could not ask the gateway; judged on the window all the same'),
      ),
    ),
  );
  deps.logger.info({ round, asked: rows.length, published, windowMs }, 'hello round: asked the gateways shown online over MQTT to say hello');
  await sleep(windowMs, signal);
  const offline: string[] = [];
  for (const { id } of rows) {
    if (signal?.aborted) break;
    let gone = false;
    await deps.setOfflineIf(id, 'mqtt', async (tx) => {
      const silent = await tx
        .select({ id: gateways.id })
        .from(gateways)
        .where(
          and(
            eq(gateways.id, id),
            eq(gateways.online, true),
            or(isNull(gateways.lastSeenAt), lt(gateways.lastSeenAt, startedAt)),
            or(isNull(gateways.presenceChangedAt), lt(gateways.presenceChangedAt, startedAt)),
          ),
        );
      gone = silent.length > 0;
      return gone;
    });
    if (gone) offline.push(id);
  }
  if (offline.length) deps.logger.info({ round, offline: offline.length }, 'hello round: gateways that did not answer are offline');
  return { round, asked: rows.length, offline };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    t.unref?.();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      resolve();
    }
  });
}

async function until(ok: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline && !signal?.aborted) await sleep(100, signal);
}
