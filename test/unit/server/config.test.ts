import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../server/config.js';

describe('loadConfig', () => {
  it('needs no variable: every setting has a default', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8080);
    expect(c.mqtt.embeddedPort).toBe(1883);
    expect(c.dataDir.endsWith('.floatlease')).toBe(true);
    expect(c.database.url).toBeUndefined();
    expect(c.mqtt.url).toBeUndefined();
    expect(c.log.level).toBe('info');
    expect(c.leaseHistoryDays).toBe(7);
    expect(loadConfig({ LEASE_HISTORY_DAYS: '0' }).leaseHistoryDays).toBe(0);
    expect(c.usageHistoryDays).toBe(31);
    expect(loadConfig({ USAGE_HISTORY_DAYS: '0' }).usageHistoryDays).toBe(0);
  });

  it('is frozen all the way down', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reads overrides', () => {
    const c = loadConfig({ PORT: '9090', DATABASE_URL: 'postgres://u:p@db:5432/x', MQTT_URL: 'mqtt://b:1883', LOG_LEVEL: 'debug' });
    expect(c.http.port).toBe(9090);
    expect(c.database.url).toBe('postgres://u:p@db:5432/x');
    expect(c.mqtt.url).toBe('mqtt://b:1883');
    expect(c.log.level).toBe('debug');
  });

  it('METRICS_PORT: unset keeps /metrics on PORT, a number (0 = free) gives it a listener of its own', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9090' }).metricsPort).toBe(9090);
    expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBe(0);
  });

  it.each([
    ['METRICS_PORT', 'metrics', /METRICS_PORT .*port number/],
    ['METRICS_PORT', '65536', /METRICS_PORT .*port number/],
    ['PORT', 'abc', /PORT .*port number/],
    ['PORT', '70000', /PORT .*port number/],
    ['DATABASE_URL', 'not-a-url', /DATABASE_URL .*postgres:\/\//],
    ['DATABASE_URL', 'mysql://x/y', /DATABASE_URL .*postgres:\/\//],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL .*one of fatal, error/],
    ['MQTT_URL', 'http://x', /MQTT_URL .*mqtt:\/\//],
    ['DATABASE_POOL_MAX', '0', /DATABASE_POOL_MAX .*positive/],
    // Below the connection budget's lanes plus reserve: refused at startup, not starved at run time.
    ['DATABASE_POOL_MAX', '14', /DATABASE_POOL_MAX .*at least 15 connections/],
    ['LEASE_HISTORY_DAYS', '-1', /LEASE_HISTORY_DAYS .*0 to keep ended leases forever/],
    ['LEASE_HISTORY_DAYS', '1.5', /LEASE_HISTORY_DAYS .*whole number of days/],
    ['USAGE_HISTORY_DAYS', '-1', /USAGE_HISTORY_DAYS .*0 to keep usage samples forever/],
  ])('refuses %s=%s naming the variable and the expected form', (name, value, pattern) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(name);
    expect((thrown as Error).message).toMatch(pattern);
    expect((thrown as Error).message).not.toContain('\n');
  });
});

describe('several replicas', () => {
  const kek = Buffer.alloc(32, 7).toString('base64');
  const shared = { DATABASE_URL: 'postgres://u:p@db:5432/f', MQTT_URL: 'mqtt://broker:1883', SIGNING_KEY_KEK: kek };
  it.each([
    ['the embedded PostgreSQL', { ...shared, DATABASE_URL: undefined }, 'DATABASE_URL'],
    ['the embedded broker', { ...shared, MQTT_URL: undefined }, 'MQTT_URL'],
    ['signing keys of their own', { ...shared, SIGNING_KEY_KEK: undefined }, 'SIGNING_KEY_KEK'],
  ])('refuses REPLICAS=2 with %s', (_what, env, variable) => {
    expect(() => loadConfig({ REPLICAS: '2', ...env })).toThrow(expect.objectContaining({ variable }));
  });
  it('takes a stable replica id (the pod name) and accepts two replicas on shared services', () => {
    const c = loadConfig({ REPLICAS: '2', REPLICA_ID: 'floatlease-0', ...shared });
    expect(c.replicas).toMatchObject({ count: 2, id: 'floatlease-0' });
    expect(c.signingKeyKek).toBe(kek);
    expect(() => loadConfig({ REPLICA_ID: 'bad id!' })).toThrow(expect.objectContaining({ variable: 'REPLICA_ID' }));
  });
});
