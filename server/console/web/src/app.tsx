import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, whoAmI, type ApiError } from './api/client.js';
import type { Me } from './api/types.js';
import { Ctx, type ConsoleContext } from './context.js';
import { LiveUpdates } from './live.js';
import { Shell } from './shell.js';
import { SignIn } from './pages/sign-in.js';
import { session } from './session.js';

type Auth = { state: 'checking' } | { state: 'signed-out'; reason?: string } | { state: 'signed-in'; token: string; me: Me };

/** Holds the session: a stored token is checked with /me before anything else is shown. */
export function App() {
  const [auth, setAuth] = useState<Auth>(() => (session.load() ? { state: 'checking' } : { state: 'signed-out' }));

  useEffect(() => {
    const token = session.load();
    if (auth.state !== 'checking' || !token) return;
    whoAmI<Me>(token)
      .then((me) => setAuth({ state: 'signed-in', token, me }))
      .catch((err: ApiError) => {
        if (err.status === 401) session.clear();
        setAuth({ state: 'signed-out', reason: err.status === 401 ? 'Your token is no longer valid. Sign in again.' : err.detail });
      });
  }, [auth.state]);

  const signOut = (reason?: string) => {
    session.clear();
    setAuth(reason ? { state: 'signed-out', reason } : { state: 'signed-out' });
  };

  if (auth.state === 'checking') return <div class="splash">Checking your session…</div>;
  if (auth.state === 'signed-out') {
    return (
      <SignIn
        reason={auth.reason}
        onSignedIn={(token, me) => {
          session.save(token);
          setAuth({ state: 'signed-in', token, me });
        }}
      />
    );
  }
  return <SignedIn token={auth.token} me={auth.me} onSignOut={signOut} />;
}

function SignedIn({ token, me, onSignOut }: { token: string; me: Me; onSignOut: (reason?: string) => void }) {
  const expired = 'Your token was revoked or has expired. Sign in again.';
  const ctx = useMemo<ConsoleContext>(
    () => ({ api: createApi(token, () => onSignOut(expired)), live: new LiveUpdates(token, () => onSignOut(expired)), me }),
    // The session is fixed for this component's life; signing out unmounts it.
    [token],
  );
  useEffect(() => () => ctx.live.close(), [ctx]);
  return (
    <Ctx.Provider value={ctx}>
      <Shell onSignOut={() => onSignOut()} />
    </Ctx.Provider>
  );
}
