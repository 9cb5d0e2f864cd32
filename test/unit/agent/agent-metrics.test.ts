import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../agent/local/agent-metrics.js';
import type { AgentView } from '../../../agent/local/agent-view.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { metric, parsePromText } from '../../helpers/prom-text.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;

const floating: AgentView = {
  gatewayId: '11111111-1111-4111-8111-111111111111',
  licenseType: 'FLOATING',
  limits: { tags: 100, connections: 10, plugins: ['OPC UA'] },
  usage: { tags: 42, connections: 3 },
  issuedAt: 1_800_000_000,
  expiresAt: 1_800_000_300,
  secondsLeft: 187,
  hardwareId: 'x'.repeat(43) + '=',
  controllerReachable: true,
  transport: 'mqtt',
  seq: 7,
};

describe('agent /metrics', () => {
  it('exports limits, usage, lease seconds left, reachability and refusals by reason', async () => {
    let view = floating;
    const m = new AgentMetrics(() => view);
    m.refused('tooManyTags');
    m.refused('tooManyTags');
    m.refused('pluginNotLicensed');
    const text = await m.registry.metrics();
    const v = parsePromText(text);
    expect(v.get(metric('floatlease_agent_limit_points', { kind: 'tags' }))).toBe(100);
    expect(v.get(metric('floatlease_agent_limit_points', { kind: 'connections' }))).toBe(10);
    expect(v.get(metric('floatlease_agent_usage_points', { kind: 'tags' }))).toBe(42);
    expect(v.get(metric('floatlease_agent_usage_points', { kind: 'connections' }))).toBe(3);
    expect(v.get('floatlease_agent_lease_seconds_left')).toBe(187);
    expect(v.get('floatlease_agent_floating_license')).toBe(1);
    expect(v.get('floatlease_agent_controller_reachable')).toBe(1);
    expect(v.get(metric('floatlease_agent_refusals_total', { reason: 'tooManyTags' }))).toBe(2);
    expect(v.get(metric('floatlease_agent_refusals_total', { reason: 'pluginNotLicensed' }))).toBe(1);
    expect(v.get(metric('floatlease_agent_refusals_total', { reason: 'tooManyNodes' }))).toBe(0);
    expect(text).not.toContain(floating.gatewayId!);

    view = { ...floating, licenseType: 'TRIAL', limits: TRIAL_ALLOWANCE, secondsLeft: 0, controllerReachable: false, usage: undefined };
    const trial = parsePromText(await m.registry.metrics());
    expect(trial.get(metric('floatlease_agent_limit_points', { kind: 'tags' }))).toBe(30);
    expect(trial.get('floatlease_agent_floating_license')).toBe(0);
    expect(trial.get('floatlease_agent_controller_reachable')).toBe(0);
    expect(trial.has(metric('floatlease_agent_usage_points', { kind: 'tags' }))).toBe(false);
    expect(trial.get('floatlease_agent_lease_borrowed')).toBe(0);
    view = { ...floating, borrowedUntil: 1_800_028_800 };
    expect(parsePromText(await m.registry.metrics()).get('floatlease_agent_lease_borrowed')).toBe(1);
  });

  it.skipIf(!promtool)('passes promtool check metrics (prom-client’s nodejs_active_*_total naming filtered out)', async () => {
    const m = new AgentMetrics(() => floating);
    m.refused('tooManyNodes');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: await m.registry.metrics() });
    const findings = (r.stdout.toString() + r.stderr.toString())
      .split('\n')
      .filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l.trim()));
    expect(findings).toEqual([]);
  });
});
