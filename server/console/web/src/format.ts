const nf = new Intl.NumberFormat('en-US');
export const num = (n: number): string => nf.format(n);

export const pct = (ratio: number): string => `${Math.round(ratio * 100)} %`;

const pad = (n: number) => String(n).padStart(2, '0');

/** Local date and time, compact and unambiguous: 2026-11-03 14:05. */
export function dateTime(iso: string | null | undefined, withSeconds = false): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${base}:${pad(d.getSeconds())}` : base;
}

export function date(iso: string | null | undefined): string {
  return iso ? dateTime(iso).slice(0, 10) : '—';
}

/** "in 3 days", "5 min ago". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  const [n, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), 'min']
        : abs < 86_400_000
          ? [Math.round(abs / 3_600_000), 'h']
          : [Math.round(abs / 86_400_000), abs < 2 * 86_400_000 ? 'day' : 'days'];
  if (abs < 5_000) return 'just now';
  return diff > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** Seconds as m:ss, or h:mm:ss for long leases. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * Time left to the minute, to the second in the last minute: for a table of countdowns, whose
 * text (and so the browser's layout and paint of 50 rows) changes once a minute, not every second.
 */
export function minutesLeft(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min` : `${s} s`;
}

export const shortId = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '—');
