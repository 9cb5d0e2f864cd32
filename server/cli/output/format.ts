/** Small formatting helpers shared by the commands' human output. */

export function percent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-';
  const p = ratio * 100;
  if (p > 0 && p < 1) return '<1%';
  return `${Math.round(p)}%`;
}

/** `used/total (pct)`, e.g. `60/120 (50%)`; a zero total has no percentage. */
export function usage(used: number | null | undefined, total: number): string {
  if (used === null || used === undefined) return `-/${total}`;
  return total > 0 ? `${used}/${total} (${percent(used / total)})` : `${used}/${total}`;
}

/** `2027-01-31 00:00:05Z`: to the second, in UTC, so events in one minute can be told apart. */
export function date(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** JWT-style epoch seconds (exp, iat, nbf) as ISO 8601. */
export function epochSeconds(n: number): string {
  return new Date(n * 1000).toISOString().replace('.000Z', 'Z');
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = (now - t) / 1000;
  return diff >= 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

export function list(items: readonly string[]): string {
  return items.length ? items.join(', ') : '-';
}

