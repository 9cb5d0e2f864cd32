import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { ensureConsoleBuilt } from '../../server/console/console-assets.js';

/** Read by `spawnTs` (test/helpers/controller-process.ts) in the test workers, which inherit it. */
export const COMPILED_TREE_ENV = 'FLOATLEASE_TEST_COMPILED_TREE';

const run = promisify(execFile);
let out: string | undefined;

/**
 * The end-to-end tests start about 300 controller and agent processes. Through tsx each start
 * loads the TypeScript loader and transforms every source file again: 2.8–5 s of CPU for a
 * controller to /readyz, against 1.2 s for the same code as plain JavaScript (measured
 * 2026-12-02 on the two-core machine). On two cores that CPU was most of what the suite waited
 * for. So the run transpiles server/, agent/ and shared/ once, file for file (the layout of
 * `npm run build`, whose `dist/` the build test deletes and rebuilds meanwhile), below the
 * repository so that packages resolve, next to links to the migrations and the console build.
 * The console is built here first when its build is missing or stale, so that no controller
 * builds it while it starts.
 */
export async function setup(project: TestProject): Promise<void> {
  const root = project.config.root;
  // The controller's own check and build (missing or stale output, built aside and swapped in).
  if (!(await ensureConsoleBuilt(pino({ level: 'warn' })))) throw new Error('the web console could not be built');
  // Not under a dot folder (node_modules/.cache): Express's sendFile refuses such paths (dotfiles).
  const results = path.join(root, 'test-results');
  await fs.mkdir(results, { recursive: true });
  out = await fs.mkdtemp(path.join(results, 'compiled-tree-'));
  const sources: string[] = [];
  for (const top of ['server', 'agent', 'shared']) {
    for (const f of await fs.readdir(path.join(root, top), { recursive: true })) {
      const rel = path.join(top, f);
      if (rel.endsWith('.ts') && !rel.endsWith('.d.ts') && !rel.startsWith('server/console/web/') && !rel.includes('/dist/') && rel !== 'server/console/vite.config.ts') sources.push(rel);
    }
  }
  await run(
    path.join(root, 'node_modules/.bin/esbuild'),
    [...sources, '--outbase=.', `--outdir=${out}`, '--platform=node', '--format=esm', '--target=node20', '--log-level=warning'],
    { cwd: root, maxBuffer: 16 * 1024 * 1024 },
  );
  await fs.symlink(path.join(root, 'drizzle'), path.join(out, 'drizzle'));
  await fs.symlink(path.join(root, 'server/console/dist'), path.join(out, 'server/console/dist'));
  process.env[COMPILED_TREE_ENV] = out;
}

export async function teardown(): Promise<void> {
  if (out) await fs.rm(out, { recursive: true, force: true });
}
