import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify, CORE_PREFIXES, routeTable, type RouteKind } from '../../../agent/neuronex/neuron-routes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The words of the docs' "Gatekeeper" column for each kind of the code's table. */
function docWord(kind: RouteKind): string {
  if (kind === 'passed' || kind === 'denied') return kind;
  return kind === 'measured' ? 'gated (measured)' : 'gated';
}

interface DocRow {
  readonly method: string;
  readonly path: string;
  readonly word: string;
  readonly source: string | undefined;
}

/** Rows of docs/neuron-routes.md naming concrete routes: `METHOD /path` (methods may be `A|B`), several per cell. */
async function docRows(): Promise<DocRow[]> {
  const text = await fs.readFile(path.join(ROOT, 'docs/neuron-routes.md'), 'utf8');
  const rows: DocRow[] = [];
  for (const line of text.split('\n')) {
    // Cells are separated by " | "; a method list such as `POST|PUT|DELETE` has no spaces.
    if (!line.startsWith('| `')) continue;
    const cells = line.replace(/^\|\s*/, '').replace(/\s*\|$/, '').split(' | ').map((c) => c.trim());
    const routes = [...cells[0]!.matchAll(/`([A-Z|]+) (\/[^`*]+)`/g)];
    for (const [, methods, p] of routes) {
      for (const method of methods!.split('|')) rows.push({ method, path: p!, word: cells[1]!, source: /handle\.c:\d+/.exec(line)?.[0] });
    }
  }
  return rows;
}

// Issue 17's closing note takes its table from docs/neuron-routes.md: it must say what the code does.
describe('docs/neuron-routes.md agrees with agent/neuronex/neuron-routes.ts', () => {
  it('every route the docs name is classified as the docs say', async () => {
    const rows = await docRows();
    expect(rows.length).toBeGreaterThanOrEqual(60);
    for (const r of rows) {
      const m = classify(r.method, r.path);
      expect(m, `${r.method} ${r.path}`).not.toBe('unknown');
      if (m !== 'unknown') expect(docWord(m.kind), `${r.method} ${r.path}`).toBe(r.word);
    }
  });

  it('every route of the code’s table is in the docs, and every route read from handle.c cites its line', async () => {
    const rows = await docRows();
    const named = new Set(rows.map((r) => `${r.method} ${r.path}`));
    const { core, neuronex } = routeTable();
    for (const route of core.keys()) {
      const [method, p] = route.split(' ');
      expect(named.has(`${method} ${CORE_PREFIXES[0]}${p}`), `${route} missing from docs/neuron-routes.md`).toBe(true);
    }
    for (const route of neuronex.keys()) {
      const [method, p] = route.split(' ');
      expect(named.has(`${method} /api${p}`), `${route} missing from docs/neuron-routes.md`).toBe(true);
    }
    // The main table (read from handle.c at one commit): a line per route, in the array's order.
    const cited = rows.filter((r) => r.source).map((r) => Number(r.source!.split(':')[1]));
    expect(cited.length).toBeGreaterThanOrEqual(40);
    expect(cited).toEqual([...cited].sort((a, b) => a - b));
  });
});
