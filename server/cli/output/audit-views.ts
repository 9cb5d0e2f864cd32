import type { AuditEventView } from '../../../shared/protocol/rest.js';
import { date, epochSeconds } from './format.js';
import { renderTable } from './table.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// PostgreSQL's jsonb does not keep key order: the usual keys come first, in a fixed order.
const KEY_ORDER = ['name', 'tags', 'connections', 'plugins', 'exp', 'points', 'seq'];
const rank = (k: string): number => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
const orderedKeys = (keys: Iterable<string>): string[] => [...new Set(keys)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const EPOCH_KEYS = new Set(['exp', 'iat', 'nbf']);

function value(v: unknown, key = ''): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' && EPOCH_KEYS.has(key)) return epochSeconds(v);
  if (Array.isArray(v)) return `[${v.map((x) => value(x)).join(',')}]`;
  if (isRecord(v)) return `{${orderedKeys(Object.keys(v)).map((k) => `${k} ${value(v[k], k)}`).join(', ')}}`;
  return String(v);
}

function fields(v: Record<string, unknown>): string {
  return orderedKeys(Object.keys(v))
    .map((k) => `${k} ${value(v[k], k)}`)
    .join(', ');
}

/** What changed, in words: `tags 10→100, plugins []→[OPC UA]`. */
function changeSummary(before: unknown, after: unknown): string {
  if (isRecord(before) && isRecord(after)) {
    const keys = orderedKeys([...Object.keys(before), ...Object.keys(after)]);
    const diffs = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).map((k) => `${k} ${value(before[k], k)}→${value(after[k], k)}`);
    return diffs.join(', ') || 'no change';
  }
  if (isRecord(after)) return fields(after);
  if (after !== null && after !== undefined) return value(after);
  if (isRecord(before)) return `was ${fields(before)}`;
  return '';
}

export function auditTable(items: readonly AuditEventView[]): string {
  if (items.length === 0) return 'No audit events match.';
  return renderTable(items, [
    { header: 'ID', value: (e) => String(e.id), align: 'right' },
    { header: 'AT', value: (e) => date(e.at) },
    { header: 'ACTOR', value: (e) => e.actor, max: 24 },
    { header: 'ACTION', value: (e) => e.action, max: 32 },
    { header: 'SUBJECT', value: (e) => e.subject, max: 28 },
    { header: 'CHANGE', value: (e) => changeSummary(e.before, e.after), max: 70 },
  ]);
}
