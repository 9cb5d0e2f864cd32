import { afterAll, beforeAll } from 'vitest';

/**
 * A fixture of one test file (or describe block): made in its beforeAll, disposed of in its
 * afterAll. The object answers once made, that is inside tests and later hooks; it replaces the
 * `let x; beforeAll(make); afterAll(dispose)` preamble.
 */
export function perFile<T extends object>(make: () => Promise<T>, dispose: (made: T) => unknown): T {
  let made: T | undefined;
  beforeAll(async () => {
    made = await make();
  });
  afterAll(async () => {
    if (made) await dispose(made);
  });
  const fixture = (key: PropertyKey): T => {
    if (!made) throw new Error(`the fixture is not made yet: ${String(key)} used outside a test or hook`);
    return made;
  };
  // Methods run on the fixture itself (this is never the proxy), and writes land on it.
  return new Proxy({} as T, {
    get(_target, key) {
      const target = fixture(key);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_target, key, value) {
      return Reflect.set(fixture(key), key, value);
    },
  });
}
