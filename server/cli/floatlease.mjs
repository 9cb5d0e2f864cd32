#!/usr/bin/env node
// The `floatlease` executable for package.json "bin". A compiled CLI starts in a fraction of the time
// TypeScript through tsx takes (1.5-4 s per command on a busy host), so it is preferred when built:
// `npm run cli:build` (an esbuild bundle), else a tsc build's output; from a bare checkout, tsx.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = ['../../dist/cli/main.mjs', '../../dist/server/cli/main.js'].map((p) => new URL(p, import.meta.url)).find((u) => existsSync(u));
if (compiled) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
