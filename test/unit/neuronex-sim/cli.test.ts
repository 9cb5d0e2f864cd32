import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from './sim-client.js';

const MAIN = fileURLToPath(new URL('../../neuronex-sim/main.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(MAIN), '../..');

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before printing`)));
  });
}

describe('neuronex-sim CLI', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('prints its URLs as one JSON line, serves the flags, and stops on SIGTERM', async () => {
    const token = 'CLIHardwareTokenCLIHardwareTokenCLIHardwar=';
    child = startCli(['--hardware-token', token, '--max-tags', '77', '--disable-auth']);
    const urls = JSON.parse(await firstLine(child)) as { coreUrl: string; exUrl: string };
    expect(urls.coreUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.exUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(`${urls.coreUrl}/api/v2/hwtoken`, 'GET')).json).toEqual({ token });
    expect((await call(`${urls.exUrl}/api/license`, 'GET')).json).toMatchObject({ totalTagCount: 77, hardwareToken: token });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it('refuses a bad flag value with exit code 2', async () => {
    child = startCli(['--max-tags', 'many']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('--max-tags must be a non-negative integer');
  });
});
