import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, loadAgentConfig } from '../../../agent/config.js';

describe('agent configuration', () => {
  it('has working defaults with nothing set', () => {
    const c = loadAgentConfig([], {});
    expect(c).toEqual({
      controllerUrl: 'http://127.0.0.1:8080',
      mqttUrl: 'mqtt://127.0.0.1:1883',
      transports: ['mqtt', 'ws'],
      activationCode: undefined,
      stateDir: path.resolve('./.floatlease-agent'),
      caFile: undefined,
      hardwareIdOverride: undefined,
      gatewayName: undefined,
      clockSkewSec: 30,
      guardSaveSec: 5,
      http: { host: '127.0.0.1', port: 8086 },
      mqttKeepaliveSec: 30,
      failoverAfterMs: 5_000,
      log: { level: 'info', format: 'auto' },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
  });

  it('FLOATLEASE_CA_FILE (or --ca-file) is resolved to an absolute path', () => {
    expect(loadAgentConfig([], { FLOATLEASE_CA_FILE: 'certs/ca.pem' }).caFile).toBe(path.resolve('certs/ca.pem'));
    expect(loadAgentConfig(['--ca-file', '/etc/floatlease/ca.pem'], {}).caFile).toBe('/etc/floatlease/ca.pem');
    expect(loadAgentConfig([], { FLOATLEASE_CA_FILE: '' }).caFile).toBeUndefined();
  });

  it('reads the environment, and flags win over it', () => {
    const env = {
      FLOATLEASE_CONTROLLER_URL: 'https://ctl.example.com/',
      FLOATLEASE_TRANSPORT: 'ws',
      FLOATLEASE_HTTP_PORT: '9000',
      FLOATLEASE_ACTIVATION_CODE: 'FLAC-ENV',
      LOG_LEVEL: 'warn',
    };
    const c = loadAgentConfig(['--http-port', '0', '--transport=ws,mqtt', '--activation-code', 'FLAC-FLAG', '--mqtt-keepalive-sec', '5'], env);
    expect(c.controllerUrl).toBe('https://ctl.example.com');
    expect(c.transports).toEqual(['ws', 'mqtt']);
    expect(c.http.port).toBe(0);
    expect(c.activationCode).toBe('FLAC-FLAG');
    expect(c.mqttKeepaliveSec).toBe(5);
    expect(c.log.level).toBe('warn');
  });

  it.each([
    [{ FLOATLEASE_HTTP_PORT: '70000' }, 'FLOATLEASE_HTTP_PORT'],
    [{ FLOATLEASE_TRANSPORT: 'mqtt,carrier-pigeon' }, 'FLOATLEASE_TRANSPORT'],
    [{ FLOATLEASE_TRANSPORT: 'ws,ws' }, 'FLOATLEASE_TRANSPORT'],
    [{ FLOATLEASE_CONTROLLER_URL: 'ftp://x' }, 'FLOATLEASE_CONTROLLER_URL'],
    [{ FLOATLEASE_MQTT_URL: 'not a url' }, 'FLOATLEASE_MQTT_URL'],
    [{ FLOATLEASE_CLOCK_SKEW_SEC: '-1' }, 'FLOATLEASE_CLOCK_SKEW_SEC'],
    [{ FLOATLEASE_MQTT_KEEPALIVE_SEC: '0' }, 'FLOATLEASE_MQTT_KEEPALIVE_SEC'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('a bad value names its variable: %o', (env, variable) => {
    expect(() => loadAgentConfig([], env)).toThrow(AgentConfigError);
    try {
      loadAgentConfig([], env);
    } catch (err) {
      expect((err as AgentConfigError).variable).toBe(variable);
      expect((err as Error).message).toMatch(new RegExp(`^invalid configuration: ${variable} \\(`));
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('a bad flag names the flag and its variable; an unknown flag is a configuration error too', () => {
    expect(() => loadAgentConfig(['--http-port', 'x'], {})).toThrow(/--http-port \(FLOATLEASE_HTTP_PORT\)/);
    expect(() => loadAgentConfig(['--no-such-flag'], {})).toThrow(AgentConfigError);
  });
});
