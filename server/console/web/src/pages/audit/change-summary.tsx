type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

/** "tags 10 → 120, plugins none → OPC UA": what changed, in one line. */
export function ChangeSummary({ before, after }: { before: unknown; after: unknown }) {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => show(before[k]) !== show(after[k]));
    if (keys.length === 0) return <span class="muted">no change</span>;
    return (
      <span class="change">
        {keys.map((k, i) => (
          <span key={k}>
            {i > 0 ? ', ' : ''}
            {k} <s>{show(before[k])}</s> → <b>{show(after[k])}</b>
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
          {k} <b>{show(v)}</b>
        </span>
      ))}
    </span>
  );
}
