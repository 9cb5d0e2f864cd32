import { describe, expect, it } from 'vitest';
import { Agent, type AgentOptions } from '../../../agent/agent.js';
import { ControllerHttpError, ControllerUnreachableError } from '../../../agent/controller/controller-api.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { waitFor } from '../../helpers/ports.js';
import { CREDENTIAL, enrolledStore, GATEWAY_ID, HARDWARE_ID, MemoryStore, stoppedAfterEach, testAgent, TestSigner } from './fakes.js';
import { perFile } from '../../helpers/per-file.js';

const signer = perFile(() => TestSigner.create(), (s) => s.dispose());

const running = stoppedAfterEach<Agent>();

function setup({ enrolled, names, ...options }: Partial<AgentOptions> & { enrolled?: boolean; names?: ('mqtt' | 'ws')[] } = {}) {
  const a = testAgent({
    signer,
    store: enrolled ? enrolledStore(signer) : new MemoryStore(),
    transports: names,
    options: { activationCode: 'FLAC-TEST-CODE', gatewayName: 'gw-1', enrollBackoff: { baseMs: 10, maxMs: 20 }, ...options },
  });
  running.push(a.agent);
  return a;
}

describe('Agent lifecycle', () => {
  it('enrolls (retrying while the controller is unreachable), pins the keys, says hello over MQTT and acks the lease', async () => {
    const { agent, store, controller, transports } = setup();
    controller.enrollFailures.push(new ControllerUnreachableError('ECONNREFUSED'), new ControllerHttpError(503, 'unavailable', 'starting'));
    await agent.start();
    const [mqtt, ws] = await transports();
    expect(controller.enrollCalls).toHaveLength(3);
    expect(controller.enrollCalls[0]).toMatchObject({ activationCode: 'FLAC-TEST-CODE', hardwareId: HARDWARE_ID, name: 'gw-1' });
    expect(store.credential).toEqual({ gatewayId: GATEWAY_ID, secret: CREDENTIAL });
    expect(store.trust?.jwks).toEqual(signer.jwks());
    mqtt!.connect();
    await agent.ready;
    expect(mqtt!.calls).toEqual(['hello']);
    await waitFor('ack', () => mqtt!.acks.length === 1);
    expect(ws!.started).toBe(0);
    expect(agent.status()).toMatchObject({ gatewayId: GATEWAY_ID, licenseType: 'FLOATING', transport: 'mqtt', controllerReachable: true, hardwareId: HARDWARE_ID });
    expect(agent.effectiveLimits()).toEqual({ tags: 100, connections: 5, plugins: ['OPC UA'] });
  });

  it('a refused activation code is an error for a human; the gateway stays on the trial allowance', async () => {
    const { agent, controller, log } = setup();
    controller.enrollFailures.push(new ControllerHttpError(404, 'activation-code-unknown', 'no such code'));
    await agent.start();
    await agent.ready;
    expect(controller.enrollCalls).toHaveLength(1);
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    expect(log.lines.find((l) => l.level === 50)).toMatchObject({ problem: 'activation-code-unknown', msg: 'enrollment refused; check FLOATLEASE_ACTIVATION_CODE' });
  });

  it('a zero lease means TRIAL; a pushed allocation makes it FLOATING; a refused push changes nothing and is not acked', async () => {
    const { agent, transports } = setup({ enrolled: true });
    await agent.start();
    const [mqtt] = await transports();
    mqtt!.answer = () => signer.grant({ points: { tags: 0, connections: 0 }, plugins: [] });
    mqtt!.connect();
    await agent.ready;
    expect(agent.status()).toMatchObject({ licenseType: 'TRIAL', limits: TRIAL_ALLOWANCE, issuedAt: undefined });
    expect(agent.status().secondsLeft).toBeGreaterThan(290);

    const pushed = await signer.grant({ points: { tags: 120, connections: 7 }, plugins: [] });
    expect(await mqtt!.push(pushed)).toBe(true);
    expect(agent.effectiveLimits()).toEqual({ tags: 120, connections: 7, plugins: [] });
    expect(agent.status()).toMatchObject({ licenseType: 'FLOATING', seq: pushed.seq, expiresAt: pushed.expiresAt });

    const acked = mqtt!.acks.length;
    expect(await mqtt!.push(await signer.grant({ seq: pushed.seq, points: { tags: 9_999, connections: 99 } }))).toBe(false);
    expect(await mqtt!.push(await signer.grant({ hwid: 'A'.repeat(43) + '=' }))).toBe(false);
    expect(mqtt!.acks).toHaveLength(acked);
    expect(agent.effectiveLimits()).toEqual({ tags: 120, connections: 7, plugins: [] });
  });

  it('boots from disk: the stored lease is enforced before the controller answers', async () => {
    const { agent, store } = setup({ enrolled: true });
    const g = await signer.grant({ points: { tags: 77, connections: 3 } }, Date.now() - 10_000);
    store.state = { lastSeq: g.seq, lease: { jws: g.lease, seq: g.seq, receivedAt: Date.now() - 10_000 } };
    store.guard = { highSeq: g.seq, floorMs: Date.now() - 1_000 };
    await agent.start();
    expect(agent.effectiveLimits()).toEqual({ tags: 77, connections: 3, plugins: ['OPC UA'] });
    expect(agent.status()).toMatchObject({ licenseType: 'FLOATING', controllerReachable: false, transport: undefined, seq: g.seq });
    expect(agent.status().secondsLeft).toBeLessThanOrEqual(290);
    await agent.ready;
  });

  it('a stored lease without guard.json (time floor, seq mark) is not enforced until the controller answers', async () => {
    const { agent, store } = setup({ enrolled: true });
    const g = await signer.grant({ points: { tags: 77, connections: 3 } });
    store.state = { lastSeq: g.seq, lease: { jws: g.lease, seq: g.seq, receivedAt: Date.now() } };
    await agent.start();
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    expect(store.guard).toMatchObject({ highSeq: g.seq, floorMs: expect.any(Number) });
  });

  it('a stored lease that has expired is not enforced, nor is an older seq taken later', async () => {
    const { agent, store, transports } = setup({ enrolled: true });
    const g = await signer.grant({}, Date.now() - 600_000);
    store.state = { lastSeq: g.seq + 5, lease: { jws: g.lease, seq: g.seq, receivedAt: Date.now() - 600_000 } };
    await agent.start();
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    const [mqtt] = await transports();
    mqtt!.isUp = true;
    expect(await mqtt!.push(await signer.grant({ seq: g.seq + 1 }))).toBe(false);
  });

  it('falls back to WebSocket when MQTT does not connect, and goes back to MQTT when it does', async () => {
    const { agent, transports } = setup({ enrolled: true });
    await agent.start();
    const [mqtt, ws] = await transports();
    await waitFor('ws started', () => ws!.started === 1);
    ws!.connect();
    await waitFor('hello over ws', () => ws!.calls.includes('hello'));
    expect(agent.status().transport).toBe('ws');
    mqtt!.connect();
    await waitFor('hello over mqtt', () => mqtt!.calls.includes('hello'));
    expect(ws!.closed).toBe(1);
    expect(agent.status().transport).toBe('mqtt');
  });

  it('a lease over HTTP while no transport is up has the transports retry at once; one over a transport does not', async () => {
    // CI 2026-12-02 (agent-borrow e2e): after a long cut the agent was back on HTTP at once, but MQTT
    // waited out its backoff (up to 30 s, jittered) and the controller, pushing only to online
    // gateways, could not reach it meanwhile ("timed out waiting for online on the controller").
    const { agent, controller, transports, log } = setup({ enrolled: true, names: ['mqtt'] });
    controller.reachable = false;
    await agent.start();
    const [mqtt] = await transports();
    await waitFor('an HTTP lease request refused', () => log.lines.some((l) => l.msg === 'no fresh lease yet; retrying'));
    expect(mqtt!.retries).toBe(0);
    controller.reachable = true;
    // The lease arrives over HTTP and, once accepted, has the transport retry.
    await waitFor('MQTT asked to retry', () => mqtt!.retries > 0);
    expect(agent.status().transport).toBe('http');
    expect(mqtt!.retries).toBe(1);
    mqtt!.connect();
    await waitFor('hello over mqtt', () => mqtt!.acks.length === 1);
    expect(mqtt!.retries).toBe(1);
  });

  it('on stop, releases over the live transport and waits for the acknowledgement at most releaseTimeoutMs', async () => {
    const { agent, store, controller, transports } = setup({ enrolled: true, releaseTimeoutMs: 300 });
    await agent.start();
    const [mqtt] = await transports();
    mqtt!.connect();
    await agent.ready;
    mqtt!.releaseHangs = true;
    controller.releaseDelayMs = 10_000;
    const started = Date.now();
    await agent.stop();
    // It waited out its timeout (a busy machine only lengthens that) and stopped without the answer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(controller.released).toBe(0);
    expect(mqtt!.calls).toContain('release');
    expect(store.state.lease).toBeUndefined();
    expect(store.state.lastSeq).toBeGreaterThan(0);
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
  });

  it('a release the broker acknowledged but the controller never confirmed is said so in the log (issue 16)', async () => {
    const { agent, controller, log, transports } = setup({ enrolled: true, releaseTimeoutMs: 600 });
    await agent.start();
    const [mqtt] = await transports();
    mqtt!.connect();
    await agent.ready;
    controller.reachable = false;
    await agent.stop();
    expect(mqtt!.calls).toContain('release');
    expect(controller.released).toBe(0);
    expect(log.lines.find((l) => l.msg === 'released the lease')).toBeUndefined();
    expect(log.lines.find((l) => (l.msg as string).includes('did not confirm the release'))).toMatchObject({ level: 40 });
  });

  it('on stop without a live transport, releases over HTTP', async () => {
    const { agent, controller, log } = setup({ enrolled: true });
    await agent.start();
    await agent.stop();
    expect(controller.released).toBe(1);
    expect(log.lines.find((l) => l.msg === 'released the lease')).toMatchObject({ transport: 'http' });
  });

  it('a rejected credential is re-enrolled with the activation code', async () => {
    const { agent, controller, sets, transports } = setup({ enrolled: true });
    await agent.start();
    const [mqtt] = await transports();
    controller.credentialOk = false;
    mqtt!.handlers.authRefused(mqtt!);
    await waitFor('re-enrolled', () => sets.length === 2);
    expect(controller.enrollCalls).toHaveLength(1);
    expect(mqtt!.closed).toBe(1);
  });

  it('a refused login with a credential the controller still accepts is an outage, not a rejection', async () => {
    const { agent, controller, sets, transports } = setup({ enrolled: true });
    await agent.start();
    const [mqtt] = await transports();
    controller.credentialOk = undefined;
    mqtt!.handlers.authRefused(mqtt!);
    await waitFor('the credential check', () => controller.credentialChecks === 1);
    await new Promise((r) => setImmediate(r)); // its answer is acted on in the microtasks that follow
    expect(sets).toHaveLength(1);
    expect(mqtt!.closed).toBe(0);
  });

  it('without an activation code, a rejected credential stops the agent from connecting, loudly', async () => {
    const { agent, controller, log, transports } = setup({ enrolled: true, activationCode: undefined });
    await agent.start();
    const [mqtt] = await transports();
    controller.credentialOk = false;
    mqtt!.handlers.authRefused(mqtt!);
    await waitFor('error logged', () => log.lines.find((l) => l.level === 50));
    expect(mqtt!.closed).toBe(1);
    expect(controller.enrollCalls).toHaveLength(0);
  });
});

describe('device activation (license page, issue 17)', () => {
  it('re-activating a live gateway sends the credential it holds, so the controller re-binds it without an admin reset', async () => {
    const { agent, controller, store, transports } = setup({ enrolled: true, activationCode: undefined });
    await agent.start();
    const [mqtt] = await transports();
    mqtt!.connect();
    await waitFor('floating', () => agent.status().licenseType === 'FLOATING');
    const r = await agent.activate('FLAC-NEW-CODE');
    expect(r).toMatchObject({ ok: true, gatewayId: GATEWAY_ID });
    expect(controller.enrollCalls).toHaveLength(1);
    expect(controller.enrollCalls[0]).toMatchObject({ activationCode: 'FLAC-NEW-CODE', hardwareId: HARDWARE_ID, currentCredential: CREDENTIAL });
    expect(store.credential).toEqual({ gatewayId: GATEWAY_ID, secret: CREDENTIAL });
  });

  it('a first activation (nothing enrolled) sends no credential; a refusal is returned as the controller said it', async () => {
    const { agent, controller } = setup({ activationCode: undefined });
    await agent.start();
    controller.enrollFailures.push(new ControllerHttpError(409, 'conflict', 'gateway g is live; re-enrolling it needs its current credential'));
    expect(await agent.activate('FLAC-ANY-CODE')).toMatchObject({ ok: false, status: 409, problem: 'conflict' });
    expect(controller.enrollCalls[0]).not.toHaveProperty('currentCredential');
    expect(await agent.activate('FLAC-ANY-CODE')).toMatchObject({ ok: true, gatewayId: GATEWAY_ID });
    expect(controller.enrollCalls[1]).not.toHaveProperty('currentCredential');
  });
});
