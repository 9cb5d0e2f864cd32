import { useState } from 'preact/hooks';
import type { AgentSetup } from '../../agent-command.js';
import type { AuditPage, GatewayView, PoolView } from '../../api/types.js';
import { Badge, Chips, CopyButton } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan, useConsole } from '../../context.js';
import { clock, dateTime, num, relative } from '../../format.js';
import { useAction, useNow, useQuery } from '../../hooks.js';
import { ChangeSummary } from '../audit/change-summary.js';
import { AllocationEditor } from './allocation-editor.js';
import { GatewayHistoryPanel } from './gateway-history.js';
import { licenseFields } from './gateway-license.js';

function Field({ name, label, children }: { name: string; label: string; children: preact.ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-field={name}>{children}</dd>
    </div>
  );
}

/** One gateway: its license as NeuronEX shows it, its lease, allocation, audit trail, rename and decommission. */
export function GatewayDetailPage({ id }: { id: string }) {
  const { api } = useConsole();
  const canEdit = useCan('operator');
  const canAdmin = useCan('admin');
  const gw = useQuery(`gateway-${id}`, (a, signal) => a.get<GatewayView>(`/gateways/${id}`, signal), { refreshOn: () => true, pollMs: 10_000 });
  const pools = useQuery('pools', (a, signal) => a.get<PoolView[]>('/pools', signal));
  const setup = useQuery<AgentSetup>('agent-setup', (a, signal) => a.get<AgentSetup>('/agent-setup', signal));
  const trail = useQuery(`gateway-audit-${id}`, (a, signal) => a.get<AuditPage>(`/audit?gatewayId=${id}&hideRenewals=true&limit=25`, signal), { refreshOn: () => true });
  const now = useNow();
  const [editing, setEditing] = useState(false);
  const [renaming, setRenaming] = useState<string | undefined>();
  const [decommissioning, setDecommissioning] = useState(false);
  const rename = useAction((name: string) => api.send<GatewayView>('PATCH', `/gateways/${id}`, { name }));
  const decommission = useAction(() => api.send<GatewayView>('DELETE', `/gateways/${id}`));

  const g = gw.data;
  if (!g) {
    return (
      <section>
        <h1>Gateway</h1>
        <ProblemNotice error={gw.error} />
      </section>
    );
  }
  const pool = pools.data?.find((p) => p.id === g.poolId);
  const elapsed = gw.receivedAt ? Math.max(0, (now - gw.receivedAt) / 1000) : 0;
  const lic = licenseFields(g, setup.data?.trial ?? { tags: 30, connections: 30 }, elapsed, pool?.license);
  const left = g.lease ? Math.max(0, g.lease.secondsLeft - elapsed) : 0;

  return (
    <section data-gateway-page={g.id}>
      <div class="page-head">
        <div>
          <p class="small">
            <a href="/gateways">Gateways</a> / {pool ? <a href={`/gateways?poolId=${pool.id}`}>{pool.name}</a> : null}
          </p>
          <h1>{g.name}</h1>
          <p class="muted small mono" title="gateway id">
            {g.id} <CopyButton text={g.id} label="copy" aria="Copy gateway id" small />
          </p>
        </div>
        <div class="badges">
          {g.decommissionedAt ? (
            <Badge tone="bad">decommissioned</Badge>
          ) : g.online ? (
            <Badge tone="ok">online{g.transport ? ` · ${g.transport}` : ''}</Badge>
          ) : (
            <Badge tone="muted">offline</Badge>
          )}
          <Badge tone={lic.mode === 'FLOATING' ? 'info' : 'warn'}>{lic.mode}</Badge>
        </div>
      </div>
      <div class="detail-grid">
        <article class="card">
          <h2>License</h2>
          <p class="muted small">As NeuronEX shows it (and the agent's /api/license).</p>
          <dl class="facts">
            <Field name="licenseType" label="License type">
              {lic.licenseType}
            </Field>
            <Field name="startDate" label="Issued At (UTC)">
              {lic.startDate || '—'}
            </Field>
            <Field name="expiredDate" label="Expire At (UTC)">
              {lic.expiredDate || '—'}
            </Field>
            <Field name="tags" label="Tags used / max">
              {num(lic.usedTagCount)} / {num(lic.totalTagCount)}
            </Field>
            <Field name="connections" label="Connections used / max">
              {num(lic.usedConnections)} / {num(lic.maxConnections)}
            </Field>
            <Field name="enabledPlugins" label="Enabled plugins">
              <Chips items={lic.enabledPlugins} />
            </Field>
            <Field name="hardwareToken" label="Hardware token">
              <span class="mono small">{lic.hardwareToken}</span>
            </Field>
            <Field name="usageReported" label="Usage reported">
              {g.usage ? relative(g.usage.reportedAt) : 'never'}
            </Field>
          </dl>
        </article>
        <article class="card">
          <h2>Lease and allocation</h2>
          <dl class="facts">
            <Field name="seq" label="Lease seq">
              {g.lease ? `#${g.lease.seq} (${g.lease.state})` : 'none'}
            </Field>
            <Field name="secondsLeft" label="Time left">
              {g.lease && left > 0 ? clock(left) : '—'}
            </Field>
            <Field name="transport" label="Transport">
              {g.transport ?? '—'}
            </Field>
            <Field name="allocation" label="Allocated">
              {num(g.allocation.tags)} tags, {num(g.allocation.connections)} connections
            </Field>
            <Field name="held" label="Held">
              {num(g.held.tags)} tags, {num(g.held.connections)} connections
            </Field>
            <Field name="presence" label="Presence">
              {g.online ? 'online' : 'offline'} {g.presenceChangedAt ? `since ${dateTime(g.presenceChangedAt, true)}` : ''}
            </Field>
          </dl>
          {canEdit && !g.decommissionedAt ? (
            <div class="card-foot">
              <button type="button" class="button primary" onClick={() => setEditing(true)}>
                Edit allocation
              </button>
              <button type="button" class="button" onClick={() => setRenaming(g.name)}>
                Rename
              </button>
              {canAdmin ? (
                <button type="button" class="button danger-ghost" onClick={() => setDecommissioning(true)}>
                  Decommission
                </button>
              ) : null}
            </div>
          ) : null}
        </article>
      </div>
      <GatewayHistoryPanel gatewayId={g.id} />
      <h2 class="section-title">Audit trail</h2>
      <p class="muted small">
        Administrative and presence events, without lease renewals. <a href={`/audit?gatewayId=${g.id}`}>All events</a>
      </p>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit trail of this gateway">
        <table class="table audit">
          <thead>
            <tr>
              <th>Time</th>
              <th>Action</th>
              <th>Change</th>
              <th>Actor</th>
            </tr>
          </thead>
          <tbody>
            {(trail.data?.items ?? []).map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td class="nowrap">{dateTime(e.at, true)}</td>
                <td>{e.action}</td>
                <td class="change-cell">
                  <ChangeSummary before={e.before} after={e.after} />
                </td>
                <td class="muted small">{e.actor}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing ? (
        <AllocationEditor
          gateway={g}
          pool={pool}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            gw.reload();
          }}
        />
      ) : null}
      {renaming !== undefined ? (
        <Modal
          title={`Rename ${g.name}`}
          onClose={() => setRenaming(undefined)}
          confirmDiscard={renaming.trim() !== g.name ? 'Discard the new name?' : undefined}
          footer={
            <FormFooter form="rename-form" onCancel={() => setRenaming(undefined)} busy={rename.busy} ready={!!renaming.trim()}>
              Rename
            </FormFooter>
          }
        >
          <form
            id="rename-form"
            onSubmit={(e) => {
              e.preventDefault();
              void rename.run(renaming.trim()).then((r) => {
                if (!r) return;
                setRenaming(undefined);
                gw.reload();
              });
            }}
          >
            <label class="field">
              <span class="field-label">New name</span>
              <input name="name" value={renaming} maxLength={100} onInput={(e) => setRenaming(e.currentTarget.value)} />
            </label>
            <ProblemNotice error={rename.error} />
          </form>
        </Modal>
      ) : null}
      {decommissioning ? (
        <Modal
          title={`Decommission ${g.name}?`}
          onClose={() => setDecommissioning(false)}
          footer={
            <>
              <button type="button" class="button" onClick={() => setDecommissioning(false)}>
                Cancel
              </button>
              <button
                type="button"
                class="button primary danger"
                disabled={decommission.busy}
                onClick={() =>
                  void decommission.run().then((r) => {
                    if (!r) return;
                    setDecommissioning(false);
                    gw.reload();
                  })
                }
              >
                Decommission {g.name}
              </button>
            </>
          }
        >
          <p data-decommission-confirm>
            Its credential stops working for good, its allocation drops to 0 and its activation-code seat is freed. Its agent falls back to the trial
            allowance when its lease ends. To bring it back, enroll it again with an activation code.
          </p>
          <ProblemNotice error={decommission.error} />
        </Modal>
      ) : null}
    </section>
  );
}
