import { InvalidArgumentError } from 'commander';
import { isUuid } from '../../shared/protocol/uuid.js';

/** Argument parsers for commander: a bad value is a usage error (exit 2) naming what was expected. */

export function intArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

export function numberArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

/** `80%` or `0.8`. */
export function ratioArg(value: string): number {
  const v = value.trim();
  const n = v.endsWith('%') ? Number(v.slice(0, -1)) / 100 : Number(v);
  if (v === '' || !Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('expected a ratio such as 0.8 or 80%.');
  return n;
}

/** `a,b, c` → ['a','b','c']; an empty string is the empty list (e.g. to clear plugins). */
export function listArg(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (new Set(items).size !== items.length) throw new InvalidArgumentError('items must not repeat.');
  return items;
}


export function uuidArg(what: string): (value: string) => string {
  return (value) => {
    if (!isUuid(value.trim())) throw new InvalidArgumentError(`expected ${what} id (a UUID such as 0b5c1f9e-8a43-4c55-9d7e-2f1a6c3b9d10).`);
    return value.trim().toLowerCase();
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 365 * 86_400 };

/**
 * A point in time: `2027-01-31` (midnight UTC), an ISO 8601 date-time (UTC unless it has an offset),
 * or a span from now such as `90d`, `12h`, `1y` (units s, m, h, d, w, y; m is minutes). Returns ISO 8601 UTC.
 */
function parseDate(value: string, now = Date.now(), direction: 1 | -1 = 1): string {
  const v = value.trim();
  const span = /^\+?(\d+)\s*([smhdwy])$/.exec(v);
  let t: number;
  if (span) t = now + direction * Number(span[1]) * (UNIT_SECONDS[span[2] ?? 's'] ?? 1) * 1000;
  else if (/^\d{4}-\d{2}-\d{2}$/.test(v)) t = Date.parse(`${v}T00:00:00Z`);
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v)) {
    const iso = v.replace(' ', 'T');
    t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
  } else t = Number.NaN;
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected a date such as 2027-01-31, 2027-01-31T12:00:00Z, or a span such as 90d, 12h, 1y.');
  return new Date(t).toISOString();
}

/** A date; a span counts forward from now (expiry dates). */
export const dateArg = (value: string): string => parseDate(value);
/** A date; a span counts back from now (`--from 1d`: since yesterday). */
export const pastDateArg = (value: string): string => parseDate(value, Date.now(), -1);
