import { useEffect, useState } from 'preact/hooks';
import { useConsole } from './context.js';
import type { LiveStatus } from './live.js';
import { AuditPage } from './pages/audit/audit-page.js';
import { CodesPage } from './pages/codes/codes-page.js';
import { GatewayDetailPage } from './pages/gateways/gateway-detail-page.js';
import { GatewaysPage } from './pages/gateways/gateways-page.js';
import { PoolsPage } from './pages/pools/pools-page.js';
import { PoolDetailPage } from './pages/pools/pool-detail-page.js';
import { SimulatePage } from './pages/simulate/simulate-page.js';
import { TokensPage } from './pages/admin/tokens-page.js';
import { Logo } from './pages/sign-in.js';
import { navigate, onLinkClick, useLocation } from './router.js';
import { ThemeToggle } from './theme.js';

const pages = [
  { path: '/pools', label: 'Pools', view: PoolsPage },
  { path: '/gateways', label: 'Gateways', view: GatewaysPage },
  { path: '/codes', label: 'Activation codes', view: CodesPage },
  { path: '/audit', label: 'Audit trail', view: AuditPage },
  { path: '/tokens', label: 'API tokens', view: TokensPage, admin: true },
] as const;

export function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { me } = useConsole();
  const loc = useLocation();
  const gatewayId = /^\/gateways\/([0-9a-f-]{36})$/i.exec(loc.path)?.[1];
  const poolId = /^\/pools\/([0-9a-f-]{36})$/i.exec(loc.path)?.[1];
  const simulatePoolId = /^\/pools\/([0-9a-f-]{36})\/simulate$/i.exec(loc.path)?.[1];
  const page = pages.find((p) => p.path === loc.path || (gatewayId && p.path === '/gateways') || ((poolId || simulatePoolId) && p.path === '/pools'));
  useEffect(() => {
    if (!page) navigate('/pools', { replace: true });
  }, [page]);
  useEffect(() => {
    document.title = `${page?.label ?? 'Console'} · floatlease`;
  }, [page]);
  const View = page?.view;
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/pools">
          <Logo /> floatlease
        </a>
        <nav class="nav" aria-label="Console">
          {pages.filter((p) => !('admin' in p) || me.role === 'admin').map((p) => (
            <a key={p.path} href={p.path} class={p === page ? 'active' : ''} aria-current={p === page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div class="topbar-right">
          <LiveIndicator />
          <ThemeToggle />
          <span class="whoami" title={`signed in with ${me.via}`}>
            {me.name} <span class="role">{me.role}</span>
          </span>
          <button type="button" class="button button-ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main class="content" id="main" tabIndex={-1}>
        {gatewayId ? (
          <GatewayDetailPage key={gatewayId} id={gatewayId} />
        ) : poolId ? (
          <PoolDetailPage key={poolId} id={poolId} />
        ) : simulatePoolId ? (
          <SimulatePage key={simulatePoolId} poolId={simulatePoolId} />
        ) : View ? (
          <View query={loc.query} />
        ) : null}
      </main>
    </div>
  );
}

function LiveIndicator() {
  const { live } = useConsole();
  const [status, setStatus] = useState<LiveStatus>(live.status);
  useEffect(() => live.onStatus(setStatus), [live]);
  const text = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[status];
  return (
    <span class={`live live-${status}`} data-live={status} title="Live updates over Socket.IO">
      <i /> {text}
    </span>
  );
}
