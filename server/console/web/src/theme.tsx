import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark';
const KEY = 'floatlease.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set<(t: Theme) => void>();

/** The person's choice if they made one with the toggle; otherwise the system's preference. */
function chosen(): Theme | undefined {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : undefined;
  } catch {
    // Storage refused (private mode, policy): follow the system.
    return undefined;
  }
}

function currentTheme(): Theme {
  return chosen() ?? (media.matches ? 'dark' : 'light');
}

function apply(): void {
  const t = currentTheme();
  document.documentElement.dataset.theme = t;
  listeners.forEach((l) => l(t));
}

/** Sets data-theme on <html> now and whenever the system preference changes. */
export function initTheme(): void {
  apply();
  media.addEventListener('change', apply);
}

function setTheme(t: Theme): void {
  try {
    localStorage.setItem(KEY, t);
  } catch {
    // Not kept across reloads then; this page still switches.
  }
  apply();
}

function useTheme(): Theme {
  const [t, setT] = useState(currentTheme);
  useEffect(() => {
    listeners.add(setT);
    return () => void listeners.delete(setT);
  }, []);
  return t;
}

export function ThemeToggle() {
  const t = useTheme();
  const next: Theme = t === 'dark' ? 'light' : 'dark';
  return (
    <button type="button" class="button button-ghost theme-toggle" onClick={() => setTheme(next)} aria-label={`Switch to ${next} mode`} title={`Switch to ${next} mode`} data-theme-toggle={t}>
      <span aria-hidden="true">{t === 'dark' ? '☀' : '☾'}</span>
    </button>
  );
}
