import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedBroker, type BrokerAuthorizer, type EmbeddedBroker } from '../../server/mqtt/embedded-broker.js';
import { freePort, waitFor } from './ports.js';

export interface TestBroker {
  readonly kind: 'aedes' | 'mosquitto';
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Starts again on the same port (after stop). */
  restart(): Promise<void>;
  /** Stops for good and removes whatever the broker wrote. */
  dispose(): Promise<void>;
}

export const allowAll: BrokerAuthorizer = {
  authenticate: async () => ({ kind: 'controller' }),
  canPublish: () => true,
  canSubscribe: () => true,
};

export async function startAedes(authorizer: BrokerAuthorizer = allowAll, port = 0): Promise<TestBroker> {
  const logger = pino({ level: 'silent' });
  let broker: EmbeddedBroker = await startEmbeddedBroker({ host: '127.0.0.1', port, authorizer, logger });
  const fixedPort = broker.port;
  return {
    kind: 'aedes',
    url: broker.url,
    port: fixedPort,
    stop: () => broker.close(),
    async restart() {
      broker = await startEmbeddedBroker({ host: '127.0.0.1', port: fixedPort, authorizer, logger });
    },
    dispose: () => broker.close(),
  };
}

const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export function mosquittoInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v mosquitto && command -v mosquitto_passwd'], { stdio: 'ignore' }).status === 0;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A real Mosquitto on a free loopback port, with a password file and an optional ACL file.
 * As root it drops to user `mosquitto`, so its folder is handed to that user.
 */
export async function startMosquitto(opts: {
  users?: readonly { username: string; password: string }[];
  acl?: string;
  /** Use the dynamic-security plugin with this admin client instead of a password file. */
  dynsec?: { username: string; password: string };
}): Promise<TestBroker> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-mosq-'));
  const port = await freePort();
  const passwd = path.join(dir, 'passwd');
  await fs.writeFile(passwd, '');
  for (const u of opts.users ?? []) {
    const r = spawnSync('mosquitto_passwd', ['-b', passwd, u.username, u.password]);
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr.toString()}`);
  }
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous false'];
  if (opts.dynsec) {
    const file = path.join(dir, 'dynamic-security.json');
    const r = spawnSync('mosquitto_ctrl', ['dynsec', 'init', file, opts.dynsec.username, opts.dynsec.password]);
    if (r.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${r.stderr.toString()}`);
    lines.push(`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`);
  } else {
    lines.push(`password_file ${passwd}`);
  }
  lines.push(
    'persistence false',
    `log_dest file ${path.join(dir, 'mosquitto.log')}`,
    'max_queued_messages 10000',
  );
  if (opts.acl !== undefined) {
    await fs.writeFile(path.join(dir, 'acl'), opts.acl);
    lines.push(`acl_file ${path.join(dir, 'acl')}`);
  }
  const conf = path.join(dir, 'mosquitto.conf');
  await fs.writeFile(conf, lines.join('\n') + '\n');
  if (process.getuid?.() === 0) {
    spawnSync('chown', ['-R', 'mosquitto:mosquitto', dir]);
    await fs.chmod(dir, 0o700);
    await fs.chmod(passwd, 0o600);
  }
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    await waitFor('mosquitto to listen', () => portOpen(port), { timeoutMs: 10_000 });
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    kind: 'mosquitto',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop,
    restart: start,
    async dispose() {
      await stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
