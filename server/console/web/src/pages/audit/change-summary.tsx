import { dateTime } from '../../format.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const EPOCH_KEYS = new Set(['exp', 'iat', 'nbf']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** One value in words: lists joined, nested objects flattened, instants as local times. */
function show(v: unknown, key = ''): string {
  if (Array.isArray(v)) return v.length ? v.map((x) => show(x)).join(', ') : 'none';
  if (isObject(v)) return Object.entries(v).map(([k, x]) => `${k} ${show(x, k)}`).join(' · ');
  if (typeof v === 'number' && EPOCH_KEYS.has(key)) return dateTime(new Date(v * 1000).toISOString(), true);
  if (typeof v === 'string' && ISO.test(v)) return dateTime(v, true);
  if (v === null || v === undefined) return '—';
  return String(v);
}

/** "tags 10 → 120, plugins none → OPC UA": what changed, in one line. */
export function ChangeSummary({ before, after }: { before: unknown; after: unknown }) {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => show(before[k], k) !== show(after[k], k));
    if (keys.length === 0) return <span class="muted">no change</span>;
    return (
      <span class="change">
        {keys.map((k, i) => (
          <span key={k}>
            {i > 0 ? ', ' : ''}
            {k} <s>{show(before[k], k)}</s> → <b>{show(after[k], k)}</b>
          </span>
        ))}
      </span>
    );
  }
  const one = isObject(after) ? after : isObject(before) ? before : undefined;
  if (!one) return <span class="muted">—</span>;
  return (
    <span class="change">
      {Object.entries(one).map(([k, v], i) => (
        <span key={k}>
          {i > 0 ? ', ' : ''}
          {k} <b>{show(v, k)}</b>
        </span>
      ))}
    </span>
  );
}
