export { freePort } from '../../server/free-port.js';

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastError: unknown;
  let probes = 0;
  let failures = 0;
  let lastFailed = false;
  for (;;) {
    probes += 1;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastFailed = false;
    } catch (err) {
      lastError = err;
      failures += 1;
      lastFailed = true;
    }
    if (Date.now() > deadline) {
      // Say whether the probe kept failing or only answered "not yet", so a slow system and a dead one differ.
      const detail = lastError ? `; ${failures} of ${probes} probes threw, ${lastFailed ? 'the last too' : 'not the last'}: ${String(lastError)}` : '';
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
