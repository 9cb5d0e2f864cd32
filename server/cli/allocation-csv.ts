import { CliError, EXIT } from './errors.js';

export interface CsvRow {
  /** Line number in the file, for messages. */
  readonly line: number;
  readonly gateway: string;
  readonly tags?: number;
  readonly connections?: number;
  readonly plugins?: string[];
}

const COLUMNS = ['gateway', 'tags', 'connections', 'plugins'] as const;

/**
 * `gateway,tags,connections,plugins` with a header line; gateway is a name or an id, an empty cell
 * keeps that kind as it is, plugins are separated by `;`. No quoting: names and plugins hold no commas.
 */
export function parseAllocationCsv(text: string): CsvRow[] {
  const lines = text.split(/\r?\n/).map((l, n) => ({ l: l.trim(), n: n + 1 })).filter(({ l }) => l !== '' && !l.startsWith('#'));
  const [head, ...body] = lines;
  if (!head) throw new CliError(EXIT.usage, 'the CSV file is empty (expected a header line: gateway,tags,connections,plugins)');
  const header = head.l.split(',').map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (!header.includes('gateway') || unknown.length) throw new CliError(EXIT.usage, `CSV header line 1: expected columns from ${COLUMNS.join(',')} including gateway${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  if (body.length === 0) throw new CliError(EXIT.usage, 'the CSV file has no rows below its header');
  return body.map(({ l, n }) => {
    const cells = l.split(',').map((c) => c.trim());
    if (cells.length > header.length) throw new CliError(EXIT.usage, `CSV line ${n}: ${cells.length} cells for ${header.length} columns`);
    const cell = (c: string) => cells[header.indexOf(c)] ?? '';
    const num = (c: 'tags' | 'connections') => {
      const v = cell(c);
      if (v === '') return undefined;
      if (!/^\d+$/.test(v) || Number(v) > 10_000_000) throw new CliError(EXIT.usage, `CSV line ${n}: ${c} must be a whole number from 0 to 10000000, not ${v}`);
      return Number(v);
    };
    const gateway = cell('gateway');
    if (!gateway) throw new CliError(EXIT.usage, `CSV line ${n}: no gateway`);
    const tags = num('tags');
    const connections = num('connections');
    const pluginCell = header.includes('plugins') ? cell('plugins') : undefined;
    return {
      line: n,
      gateway,
      ...(tags !== undefined ? { tags } : {}),
      ...(connections !== undefined ? { connections } : {}),
      ...(pluginCell !== undefined && pluginCell !== '' ? { plugins: pluginCell.split(';').map((p) => p.trim()).filter(Boolean) } : {}),
    };
  });
}
