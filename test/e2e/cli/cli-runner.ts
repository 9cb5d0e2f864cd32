import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(ROOT, 'server/cli/main.ts');

export interface CliRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real CLI with only the given environment: the run's `cli:build` bundle of the current
 * sources (test/setup/cli-bundle.ts) with plain node, or with `via: 'tsx'` the sources as
 * `npm run cli` runs them (`node --import tsx server/cli/main.ts …`, several times slower to start).
 */
export function cli(args: readonly string[], env: Record<string, string> = {}, opts: { stdin?: string; timeoutMs?: number; via?: 'bundle' | 'tsx' } = {}): Promise<CliRun> {
  const entry = opts.via === 'tsx' ? ['--import', 'tsx', MAIN] : [inject('cliBundle')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`floatlease ${args.join(' ')} did not exit in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 40_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ args, code, stdout, stderr });
    });
  });
}

/** Parses stdout as JSON, with the run in the error when it is not. */
export function json<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`floatlease ${run.args.join(' ')} (exit ${run.code}) printed no JSON:\n${run.stdout}\n${run.stderr}`);
  }
}

/** Exit code plus output, for readable assertion failures. */
export const outcome = (run: CliRun): string => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

/** `floatlease --version` through the package.json "bin" wrapper (plain node, no --import flag), from another folder. */
export async function binVersion(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'server/cli/floatlease.mjs'), '--version'], { cwd: '/' });
  return stdout;
}
