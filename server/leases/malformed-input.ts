import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';

const LOG_EVERY_MS = 60_000;
/** Gateways remembered for the log bound; past this the memory is dropped (at worst, one extra line each). */
const MAX_TRACKED = 10_000;

/**
 * Where malformed agent messages are reported. Every one is counted in a metric; a gateway gets
 * at most one log line a minute (with how many were suppressed), so a misbehaving or hostile
 * agent cannot fill the log.
 */
export class MalformedInput {
  private readonly counter: Counter<'transport'> | undefined;
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    registry?: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.counter = registry
      ? new Counter({ name: 'floatlease_agent_malformed_messages_total', help: 'Agent messages dropped as malformed or invalid, by transport', labelNames: ['transport'] as const, registers: [registry] })
      : undefined;
  }

  report(transport: 'mqtt' | 'ws', gatewayId: string, details: Record<string, unknown>, msg: string): void {
    this.counter?.inc({ transport });
    const t = this.now();
    const seen = this.last.get(gatewayId);
    if (seen && t - seen.at < LOG_EVERY_MS) {
      seen.suppressed++;
      return;
    }
    if (this.last.size >= MAX_TRACKED) this.last.clear();
    this.last.set(gatewayId, { at: t, suppressed: 0 });
    this.logger.warn({ gatewayId, transport, ...details, suppressedSinceLastLine: seen?.suppressed ?? 0 }, msg);
  }
}
