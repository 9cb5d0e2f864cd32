import { useState } from 'preact/hooks';
import type { Role } from '../../api/types.js';
import { Badge, Empty, Field } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ShownOnceModal } from '../../components/shown-once-modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan, useConsole } from '../../context.js';
import { date, dateTime, relative } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';

interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly tokenPrefix: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}
interface TokenCreated extends TokenView {
  readonly token: string;
}

/** API tokens: an administrator creates one (its secret shown once), sees them all and revokes. */
export function TokensPage(_: { query: URLSearchParams }) {
  const canAdmin = useCan('admin');
  if (!canAdmin) {
    return (
      <section>
        <h1>API tokens</h1>
        <p class="muted" data-tokens="forbidden">
          Only an administrator manages API tokens.
        </p>
      </section>
    );
  }
  return <TokensAdmin />;
}

function TokensAdmin() {
  const { api } = useConsole();
  const tokens = useQuery('tokens', (a, signal) => a.get<TokenView[]>('/tokens', signal));
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<TokenCreated | undefined>();
  const [revoking, setRevoking] = useState<TokenView | undefined>();
  const revoke = useAction((id: string) => api.send<TokenView>('DELETE', `/tokens/${id}`));
  const list = tokens.data ?? [];
  return (
    <section>
      <div class="page-head">
        <div>
          <h1>API tokens</h1>
          <p class="muted">For the CLI, scripts and other consoles. A token's secret is shown once, when it is created.</p>
        </div>
        <button type="button" class="button primary" onClick={() => setCreating(true)}>
          New token
        </button>
      </div>
      <ProblemNotice error={tokens.error} />
      {tokens.data && list.length === 0 ? <Empty>No tokens yet.</Empty> : null}
      {list.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="API tokens">
          <table class="table" data-tokens={list.length}>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id} data-token={t.name} data-token-id={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td class="mono small" title={t.id}>
                    {t.tokenPrefix}…
                  </td>
                  <td class="nowrap">{dateTime(t.createdAt)}</td>
                  <td class="nowrap">{t.expiresAt ? date(t.expiresAt) : 'never'}</td>
                  <td class="nowrap">{t.lastUsedAt ? relative(t.lastUsedAt) : 'never'}</td>
                  <td>
                    {t.revokedAt ? (
                      <Badge tone="muted">revoked {date(t.revokedAt)}</Badge>
                    ) : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? (
                      <Badge tone="warn">expired</Badge>
                    ) : (
                      <Badge tone="ok">active</Badge>
                    )}
                  </td>
                  <td class="actions">
                    {t.revokedAt ? null : (
                      <button type="button" class="button button-small danger-ghost" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {creating ? (
        <CreateTokenModal
          onClose={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setCreated(t);
            tokens.reload();
          }}
        />
      ) : null}
      {created ? (
        <ShownOnceModal title="API token created" noun="token" secret={created.token} marker="data-token-secret" onClose={() => setCreated(undefined)}>
          <p class="muted small">
            {created.name}, role {created.role}
            {created.expiresAt ? `, valid until ${date(created.expiresAt)}` : ', no expiry'}. Use it as <code>Authorization: Bearer …</code> or{' '}
            <code>FLOATLEASE_TOKEN</code> for the CLI.
          </p>
        </ShownOnceModal>
      ) : null}
      {revoking ? (
        <Modal
          title={`Revoke ${revoking.name}?`}
          onClose={() => {
            revoke.clear();
            setRevoking(undefined);
          }}
          footer={
            <>
              <button type="button" class="button" onClick={() => setRevoking(undefined)}>
                Cancel
              </button>
              <button
                type="button"
                class="button primary danger"
                disabled={revoke.busy}
                onClick={() =>
                  void revoke.run(revoking.id).then((r) => {
                    if (!r) return;
                    setRevoking(undefined);
                    tokens.reload();
                  })
                }
              >
                Revoke {revoking.name}
              </button>
            </>
          }
        >
          <p data-revoke-confirm>
            Anything using this {revoking.role} token ({revoking.tokenPrefix}…) is refused from now on. This cannot be undone; create a new token instead.
          </p>
          <ProblemNotice error={revoke.error} />
        </Modal>
      ) : null}
    </section>
  );
}

function CreateTokenModal({ onClose, onCreated }: { onClose: () => void; onCreated: (t: TokenCreated) => void }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [expires, setExpires] = useState('');
  const create = useAction(() =>
    api.send<TokenCreated>('POST', '/tokens', {
      name: name.trim(),
      role,
      // The end of the chosen day, local time.
      ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
    }),
  );
  return (
    <Modal
      title="New API token"
      onClose={onClose}
      confirmDiscard={name.trim() ? 'Discard the new token?' : undefined}
      footer={
        <FormFooter form="token-form" onCancel={onClose} busy={create.busy} ready={!!name.trim()}>
          {create.busy ? 'Creating…' : 'Create token'}
        </FormFooter>
      }
    >
      <form
        id="token-form"
        class="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run().then((t) => t && onCreated(t));
        }}
      >
        <Field label="Name">
          <input name="name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. ci-deploy" />
        </Field>
        <Field label="Role" hint="viewer reads; operator also allocates and enrolls; admin also manages pools and tokens">
          <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </Field>
        <Field label="Expires" hint="optional; the end of that day">
          <input name="expires" type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <div class="span-2">
          <ProblemNotice error={create.error} />
        </div>
      </form>
    </Modal>
  );
}
