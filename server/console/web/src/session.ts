const KEY = 'floatlease.token';

/** The API token lives in sessionStorage: gone when the tab closes, never in a cookie. */
export const session = {
  load(): string | null {
    try {
      return window.sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  save(token: string): void {
    window.sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    window.sessionStorage.removeItem(KEY);
  },
};
