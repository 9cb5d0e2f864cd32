import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import type { Logger } from '../logger.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONSOLE_DIST = path.join(HERE, 'dist');
const CONSOLE_VITE_CONFIG = path.join(HERE, 'vite.config.ts');

/** Paths the console must never answer, so the API and probes keep their own 404s. */
const RESERVED = /^\/(api|healthz|readyz|metrics|\.well-known|socket\.io)(\/|$)/;

const exists = (p: string) =>
  fs.access(p).then(
    () => true,
    () => false,
  );

async function mtime(p: string): Promise<number> {
  return (await fs.stat(p).catch(() => undefined))?.mtimeMs ?? 0;
}

/** The newest modification under the console's sources; 0 where they are not shipped (an image). */
async function newestSource(dir: string): Promise<number> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  const times = await Promise.all(entries.filter((e) => e.isFile()).map((e) => mtime(path.join(e.parentPath, e.name))));
  return Math.max(0, ...times, await mtime(CONSOLE_VITE_CONFIG));
}

/** Why the console needs a build, or undefined when its output is current. */
async function buildReason(distDir: string): Promise<string | undefined> {
  const built = await mtime(path.join(distDir, 'index.html'));
  if (built === 0) return 'its build output was missing';
  if ((await newestSource(path.join(HERE, 'web'))) > built) return 'its sources changed since the last build';
  return undefined;
}

/**
 * Builds the console with Vite when its output is missing (a fresh checkout running `npm start`)
 * or older than its sources. Builds into a private folder and swaps it into place, so controllers
 * starting side by side never serve half-written files. Returns false when no console can be served.
 */
export async function ensureConsoleBuilt(logger: Logger, distDir = CONSOLE_DIST): Promise<boolean> {
  const reason = await buildReason(distDir);
  if (!reason) return true;
  if (!(await exists(path.join(HERE, 'web')))) {
    // A compiled build (dist/) or an image: the sources and Vite are not there; `npm run build` builds the console.
    logger.warn({ dir: distDir }, 'the web console is not built; run `npm run build` (the API works without it)');
    return false;
  }
  const started = Date.now();
  const suffix = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const tmp = path.join(path.dirname(distDir), `.dist-build-${suffix}`);
  const old = path.join(path.dirname(distDir), `.dist-build-${suffix}-old`);
  try {
    const vite = await import('vite');
    await vite.build({ configFile: CONSOLE_VITE_CONFIG, logLevel: 'error', build: { outDir: tmp, emptyOutDir: true } });
    await fs.rename(distDir, old).catch(() => undefined);
    await fs.rename(tmp, distDir).catch(async (err: NodeJS.ErrnoException) => {
      // Another controller swapped its build in first; its output is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
    logger.info({ dir: distDir, ms: Date.now() - started }, `built the web console (${reason})`);
    return true;
  } catch (err) {
    logger.warn({ err }, 'the web console could not be built; run `npm run console:build` (the API works without it)');
    return exists(path.join(distDir, 'index.html'));
  } finally {
    await Promise.all([fs.rm(tmp, { recursive: true, force: true }), fs.rm(old, { recursive: true, force: true })]);
  }
}

/**
 * Serves the built console: hashed assets cached for good, index.html never cached, and the
 * single-page fallback for any other GET that asks for HTML outside the reserved paths.
 */
export function consoleRouter(distDir = CONSOLE_DIST): Router {
  const router = Router();
  const index = path.join(distDir, 'index.html');
  router.use(
    '/assets',
    express.static(path.join(distDir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: true }),
  );
  router.use(
    express.static(distDir, {
      index: false,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    }),
  );
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (RESERVED.test(req.path) || req.path.startsWith('/assets/') || !req.accepts('html')) return next();
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index, (err) => {
      if (err) next();
    });
  });
  return router;
}

/** Makes sure the console exists (building it if needed) and returns the router serving it. */
export async function startConsoleAssets(logger: Logger): Promise<Router> {
  await ensureConsoleBuilt(logger);
  return consoleRouter();
}
