import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly mqttUrl: string;
  readonly dataDir: string;
  /** Every JSON log line the process wrote so far. */
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns a TypeScript entry point (`server/main.ts`, `agent/main.ts`) with the given environment.
 * Under vitest it runs the run's compiled copy (test/setup/compiled-tree.ts: the same sources as
 * plain JavaScript, much cheaper to start); elsewhere (benchmarks) through tsx.
 */
export function spawnTs(script: string, env: Record<string, string>, args: readonly string[] = []): ChildProcess {
  const tree = process.env.FLOATLEASE_TEST_COMPILED_TREE;
  const entry = tree && /^(server|agent|shared)\//.test(script) ? [path.join(tree, script.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', path.join(ROOT, script)];
  return spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's JSON log lines (non-JSON lines as `{msg}`) and its stderr. */
export function captureOutput(child: ChildProcess): { logs: Record<string, unknown>[]; stderr: () => string } {
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { logs, stderr: () => stderr };
}

export function waitExit(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit in ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Starts the real controller (server/main.ts) on free loopback ports and waits for /readyz.
 * Pass DATABASE_URL to use a test database; without it the controller starts its own embedded one.
 */
export async function startControllerProcess(env: Record<string, string> = {}, opts: { readyTimeoutMs?: number } = {}): Promise<ControllerProcess> {
  // A data directory made here is the process's own: removed once it has stopped (a caller that
  // passes DATA_DIR keeps its directory, e.g. to restart on it).
  const ownDir = env.DATA_DIR === undefined;
  const dataDir = env.DATA_DIR ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-ctl-')));
  const child = spawnTs('server/main.ts', {
    HOST: '127.0.0.1',
    PORT: '0',
    MQTT_EMBEDDED_PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    ...env,
  });
  const { logs, stderr } = captureOutput(child);
  const removeOwnDir = () => (ownDir ? fs.rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) {
      await removeOwnDir();
      return child.exitCode;
    }
    child.kill(signal);
    const code = await waitExit(child);
    await removeOwnDir();
    return code;
  };
  try {
    const listening = await waitFor(
      'controller to listen',
      () => {
        if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}: ${stderr()}`);
        return logs.find((l) => l.msg === 'floatlease controller listening');
      },
      { timeoutMs: opts.readyTimeoutMs ?? 30_000 },
    );
    const url = String(listening.url);
    await waitFor('controller /readyz', async () => (await fetch(`${url}/readyz`)).status === 200, {
      timeoutMs: opts.readyTimeoutMs ?? 30_000,
    });
    return { child, url, mqttUrl: String(listening.mqtt), dataDir, logs, stderr, stop };
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
}
