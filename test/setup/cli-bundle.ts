import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The CLI's entry point as `npm run cli:build` bundles it, built from the current sources for this run. */
    cliBundle: string;
  }
}

let out: string | undefined;

/**
 * The CLI end-to-end tests run about 120 commands. Through tsx each one loads the TypeScript loader
 * and resolves every source file again (0.5–1 s of CPU); the `cli:build` bundle, which the
 * `floatlease` bin wrapper prefers when built, starts with plain node. It is built once per run,
 * with the exact arguments of the package.json script, inside node_modules so that its packages
 * resolve (and out of `dist/`, which the build test deletes and rebuilds meanwhile).
 */
export async function setup(project: TestProject): Promise<void> {
  const root = project.config.root;
  const cache = path.join(root, 'node_modules', '.cache');
  await fs.mkdir(cache, { recursive: true });
  out = await fs.mkdtemp(path.join(cache, 'floatlease-test-cli-'));
  const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [bin, ...args] = pkg.scripts['cli:build']!.split(/\s+/);
  const outdir = out;
  await promisify(execFile)(
    path.join(root, 'node_modules', '.bin', bin!),
    args.map((a) => (a.startsWith('--outdir=') ? `--outdir=${outdir}` : a)),
    { cwd: root },
  );
  project.provide('cliBundle', path.join(out, 'main.mjs'));
}

export async function teardown(): Promise<void> {
  if (out) await fs.rm(out, { recursive: true, force: true });
}
