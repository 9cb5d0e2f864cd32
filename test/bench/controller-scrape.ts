import { parsePromText } from '../helpers/prom-text.js';

/** Mean seconds per observation of a histogram series (all label sets of one `label=value`). */
export interface HistogramMeans {
  readonly [key: string]: { readonly count: number; readonly meanMs: number };
}

/**
 * The controller's own view of where lease time goes, from its /metrics: lease issue duration
 * (sign + persist, by reason) and database transaction duration (by operation).
 */
export async function scrapeLeaseTimings(baseUrl: string): Promise<{ issue: HistogramMeans; transactions: HistogramMeans }> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const m = parsePromText(text);
  const means = (name: string, label: string): HistogramMeans => {
    const out: Record<string, { count: number; meanMs: number }> = {};
    for (const [key, value] of m) {
      const match = new RegExp(`^${name}_sum\\{.*${label}="([^"]+)".*\\}$`).exec(key);
      if (!match) continue;
      const count = m.get(key.replace(`${name}_sum`, `${name}_count`)) ?? 0;
      out[match[1]!] = { count, meanMs: count ? (value / count) * 1000 : NaN };
    }
    return out;
  };
  return { issue: means('floatlease_lease_issue_duration_seconds', 'reason'), transactions: means('floatlease_db_query_duration_seconds', 'operation') };
}
