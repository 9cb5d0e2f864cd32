import { useState } from 'preact/hooks';
import { ApiError, whoAmI } from '../api/client.js';
import type { Me } from '../api/types.js';
import { ProblemNotice } from '../components/problem.js';

export function SignIn({ reason, onSignedIn }: { reason?: string | undefined; onSignedIn: (token: string, me: Me) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(t, await whoAmI<Me>(t));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'internal', String(err)));
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={(e) => void submit(e)}>
        <div class="brand brand-large">
          <Logo /> floatlease
        </div>
        <p class="muted">Floating licenses for your NeuronEX fleet. Sign in with an API token.</p>
        {reason ? <div class="notice notice-warn">{reason}</div> : null}
        <label class="field">
          <span class="field-label">API token</span>
          <input
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            placeholder="fl_…"
            value={token}
            onInput={(e) => {
              setToken(e.currentTarget.value);
              setError(undefined);
            }}
            autofocus
          />
          <span class="field-hint">
            Kept in this tab only (session storage). Create tokens with <code>POST /api/v1/tokens</code> or the CLI.
          </span>
        </label>
        <ProblemNotice error={error} />
        <button class="button primary wide" type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#1e293b" />
      <rect x="7" y="18" width="4" height="7" rx="1" fill="#38bdf8" />
      <rect x="14" y="12" width="4" height="13" rx="1" fill="#38bdf8" />
      <rect x="21" y="7" width="4" height="18" rx="1" fill="#a5b4fc" />
    </svg>
  );
}
