import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransportSelector, type SelectableTransport } from '../../../agent/transport/transport-selector.js';
import { captureLogger } from './fakes.js';

class Stub implements SelectableTransport {
  starts = 0;
  closes = 0;
  retries = 0;
  constructor(readonly name: 'mqtt' | 'ws') {}
  retryNow() {
    this.retries += 1;
  }
  start() {
    this.starts += 1;
  }
  async close() {
    this.closes += 1;
  }
}

function setup(names: ('mqtt' | 'ws')[] = ['mqtt', 'ws']) {
  const transports = names.map((n) => new Stub(n));
  const events: string[] = [];
  const selector = new TransportSelector({
    transports,
    failoverAfterMs: 5_000,
    logger: captureLogger().logger,
    onActivate: (t) => events.push(`+${t.name}`),
    onDeactivate: (t) => events.push(`-${t.name}`),
  });
  return { selector, mqtt: transports[0]!, ws: transports[1]!, events };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('TransportSelector (MQTT first, WebSocket as fallback)', () => {
  it('asks each started transport that is not up to retry now, and no other', () => {
    const { selector, mqtt, ws } = setup();
    selector.start();
    selector.retryNow();
    expect([mqtt.retries, ws.retries]).toEqual([1, 0]);
    vi.advanceTimersByTime(5_000);
    selector.up(ws);
    selector.retryNow();
    expect([mqtt.retries, ws.retries]).toEqual([2, 0]);
    selector.up(mqtt);
    selector.retryNow();
    expect([mqtt.retries, ws.retries]).toEqual([2, 0]);
  });

  it('uses MQTT when it connects in time and never starts WebSocket', () => {
    const { selector, mqtt, ws, events } = setup();
    selector.start();
    vi.advanceTimersByTime(1_000);
    selector.up(mqtt);
    vi.advanceTimersByTime(60_000);
    expect(selector.active()).toBe(mqtt);
    expect(ws.starts).toBe(0);
    expect(events).toEqual(['+mqtt']);
  });

  it('starts WebSocket when MQTT cannot connect within the failover window, and returns to MQTT when it comes back', () => {
    const { selector, mqtt, ws, events } = setup();
    selector.start();
    vi.advanceTimersByTime(4_999);
    expect(ws.starts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(ws.starts).toBe(1);
    selector.up(ws);
    expect(selector.active()).toBe(ws);
    // MQTT keeps trying in the background (it was never closed) and wins once it is up.
    expect(mqtt.closes).toBe(0);
    selector.up(mqtt);
    expect(selector.active()).toBe(mqtt);
    expect(ws.closes).toBe(1);
    expect(selector.running()).toEqual([mqtt]);
    expect(events).toEqual(['+ws', '-ws', '+mqtt']);
  });

  it('rides out a short MQTT drop without failing over; a long one fails over', () => {
    const { selector, mqtt, ws, events } = setup();
    selector.start();
    selector.up(mqtt);
    selector.down(mqtt);
    expect(selector.active()).toBeUndefined();
    vi.advanceTimersByTime(3_000);
    selector.up(mqtt);
    vi.advanceTimersByTime(10_000);
    expect(ws.starts).toBe(0);
    selector.down(mqtt);
    vi.advanceTimersByTime(5_000);
    expect(ws.starts).toBe(1);
    selector.up(ws);
    expect(events).toEqual(['+mqtt', '-mqtt', '+mqtt', '-mqtt', '+ws']);
  });

  it('when the fallback drops too, both keep reconnecting and whichever comes first is used', () => {
    const { selector, mqtt, ws } = setup();
    selector.start();
    vi.advanceTimersByTime(5_000);
    selector.up(ws);
    selector.down(ws);
    vi.advanceTimersByTime(60_000);
    expect(ws.closes).toBe(0);
    selector.up(ws);
    expect(selector.active()).toBe(ws);
    selector.up(mqtt);
    expect(selector.active()).toBe(mqtt);
  });

  it('with one transport configured there is nothing to fail over to', () => {
    const { selector, mqtt, events } = setup(['mqtt']);
    selector.start();
    vi.advanceTimersByTime(60_000);
    selector.up(mqtt);
    selector.down(mqtt);
    selector.up(mqtt);
    expect(events).toEqual(['+mqtt', '-mqtt', '+mqtt']);
  });

  it('stop closes every running transport and ignores later events', async () => {
    const { selector, mqtt, ws, events } = setup();
    selector.start();
    vi.advanceTimersByTime(5_000);
    await selector.stop();
    expect([mqtt.closes, ws.closes]).toEqual([1, 1]);
    selector.up(mqtt);
    expect(selector.active()).toBeUndefined();
    expect(events).toEqual([]);
  });
});
