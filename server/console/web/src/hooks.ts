import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, isAbort, type Api } from './api/client.js';
import type { ConsoleChanges } from './api/types.js';
import { useConsole } from './context.js';

export interface QueryState<T> {
  readonly data: T | undefined;
  /** The key whose data is shown (lags `key` while a new query loads). */
  readonly shownKey: string | undefined;
  readonly error: ApiError | undefined;
  readonly loading: boolean;
  /**
   * Loading for longer than SLOW_MS. Only then do views show a spinner or dim the old rows: a
   * quick answer (the usual case) costs no indicator that flashes for a frame, and the browser no
   * repaint of the whole table before it paints the new rows.
   */
  readonly slow: boolean;
  /** When the shown data arrived (performance.now()), for countdowns. */
  readonly receivedAt: number;
  reload(): void;
}

export interface QueryOptions {
  /** Refetch when a live batch matters to this view. */
  readonly refreshOn?: (c: ConsoleChanges) => boolean;
  /** Refetch this often while the tab is visible (for what no event announces, e.g. usage reports). */
  readonly pollMs?: number;
}

const SLOW_MS = 300;

/**
 * Loads `key` and keeps showing the previous data meanwhile (no flicker). A new key aborts the
 * old request; a live refresh during a load is remembered and run once after it, so bursts of
 * changes cost at most one request in flight and one queued.
 */
export function useQuery<T>(key: string, load: (api: Api, signal: AbortSignal) => Promise<T>, opts: QueryOptions = {}): QueryState<T> {
  const { api, live } = useConsole();
  const [state, setState] = useState<Omit<QueryState<T>, 'reload'>>({
    data: undefined,
    shownKey: undefined,
    error: undefined,
    loading: true,
    slow: false,
    receivedAt: 0,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(key);
  keyRef.current = key;
  const flight = useRef<{ key: string; ctl: AbortController; again: boolean } | null>(null);

  const run = useCallback(() => {
    const k = keyRef.current;
    const f = flight.current;
    if (f && f.key === k) {
      f.again = true;
      return;
    }
    f?.ctl.abort();
    const mine = { key: k, ctl: new AbortController(), again: false };
    flight.current = mine;
    setState((s) => (s.loading ? s : { ...s, loading: true }));
    const slowTimer = setTimeout(() => {
      if (flight.current === mine) setState((s) => (s.slow ? s : { ...s, slow: true }));
    }, SLOW_MS);
    loadRef
      .current(api, mine.ctl.signal)
      .then((data) => {
        if (flight.current !== mine) return;
        setState({ data, shownKey: k, error: undefined, loading: false, slow: false, receivedAt: performance.now() });
      })
      .catch((err: unknown) => {
        if (isAbort(err) || flight.current !== mine) return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'internal', String(err));
        setState((s) => ({ ...s, error, loading: false, slow: false }));
      })
      .finally(() => {
        clearTimeout(slowTimer);
        if (flight.current !== mine) return;
        flight.current = null;
        if (mine.again) run();
      });
  }, [api]);

  // A layout effect: a plain effect waits for the next frame, a visible delay on every keystroke.
  useLayoutEffect(() => {
    run();
  }, [key, run]);

  useEffect(() => () => flight.current?.ctl.abort(), []);

  const refreshRef = useRef(opts.refreshOn);
  refreshRef.current = opts.refreshOn;
  useEffect(
    () =>
      live.onChanges((c) => {
        if (refreshRef.current?.(c)) run();
      }),
    [live, run],
  );

  useEffect(() => {
    if (!opts.pollMs) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs, run]);

  return { ...state, reload: run };
}

const tickers = new Set<(now: number) => void>();
let tickTimer: ReturnType<typeof setInterval> | undefined;

/** One shared one-second clock for every countdown on the page. */
export function useNow(): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    tickers.add(setNow);
    tickTimer ??= setInterval(() => {
      const t = performance.now();
      tickers.forEach((f) => f(t));
    }, 1000);
    return () => {
      tickers.delete(setNow);
      if (tickers.size === 0 && tickTimer) {
        clearInterval(tickTimer);
        tickTimer = undefined;
      }
    };
  }, []);
  return now;
}

/** Runs a mutation, exposing busy and the server's refusal for display. */
export function useAction<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): { run: (...args: A) => Promise<R | undefined>; busy: boolean; error: ApiError | undefined; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await fn(...args);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'internal', String(err)));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clear: () => setError(undefined) };
}
