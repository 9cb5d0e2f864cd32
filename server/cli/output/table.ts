/** Plain aligned text tables and key/value blocks for people; scripts use `--json`. */

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  readonly align?: 'left' | 'right';
  /** Longer values are cut with an ellipsis; identifiers should not set this. */
  readonly max?: number;
}

const GAP = '  ';

const width = (s: string): number => [...s].length;

function fit(s: string, max: number | undefined): string {
  const clean = s.replace(/\s+/g, ' ');
  if (max === undefined || width(clean) <= max) return clean;
  return `${[...clean].slice(0, Math.max(1, max - 1)).join('')}…`;
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => fit(c.value(r), c.max)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i] ?? ''))));
  const line = (values: readonly string[]) =>
    columns
      .map((c, i) => pad(values[i] ?? '', widths[i] ?? 0, c.align ?? 'left'))
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `Label:  value` lines with the values aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const w = Math.max(...fields.map(([k]) => width(k))) + 1;
  return fields.map(([k, v]) => `${pad(`${k}:`, w, 'left')}${GAP}${v}`.trimEnd()).join('\n');
}
