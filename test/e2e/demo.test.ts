import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitExit } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';

interface DemoReady {
  demo: 'ready';
  adminToken: string;
  urls: string[];
  proxies: string[];
  pids: number[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Processes whose command line mentions `needle` (pgrep exits 1 when there are none). */
const pgrep = (needle: string): string[] => {
  try {
    return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

/** `npm run demo` as a new user would try it: start it, open every printed URL, Ctrl-C. */
describe('npm run demo', () => {
  let dir = '';
  let pids: number[] = [];
  afterAll(async () => {
    for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('prints URLs that all answer 200, and Ctrl-C stops every process it started', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-demo-'));
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/demo/main.ts'], {
      cwd: path.resolve('.'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', FLOATLEASE_DEMO_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pids = [child.pid ?? -1];
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const ready = await waitFor(
      'the demo URLs',
      () => {
        if (child.exitCode !== null) throw new Error(`demo exited ${child.exitCode}: ${err}`);
        const line = out.split('\n').find((l) => l.startsWith('{"demo":"ready"'));
        return line ? (JSON.parse(line) as DemoReady) : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 100 },
    );
    pids = [child.pid ?? -1, ...ready.pids];
    console.info(`demo: ready in ${Date.now() - t0} ms\n${out}`);
    expect(out).toContain('Web console');
    expect(out).toContain(ready.adminToken);
    expect(ready.urls).toHaveLength(9);
    for (const url of ready.urls) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${ready.adminToken}` } });
      expect(res.status, url).toBe(200);
    }
    for (const proxy of ready.proxies) expect((await fetch(`${proxy}/api/v2/version`)).status, proxy).toBeLessThan(500);
    expect(pgrep(dir).length).toBeGreaterThan(0); // the embedded PostgreSQL runs in the demo folder

    const t1 = Date.now();
    child.kill('SIGINT');
    expect(await waitExit(child, 20_000)).toBe(0);
    console.info(`demo: SIGINT to exit in ${Date.now() - t1} ms`);
    expect(out).toContain('stopping');
    await waitFor('no leftover processes', () => ready.pids.every((p) => !alive(p)) && pgrep(dir).length === 0, { timeoutMs: 5_000 });
  }, 60_000);
});
