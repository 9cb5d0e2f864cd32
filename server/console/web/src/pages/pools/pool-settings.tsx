import { useState } from 'preact/hooks';
import type { PoolView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan, useConsole } from '../../context.js';
import { useAction } from '../../hooks.js';

/** The settings PATCH /pools/{id} accepts, as form strings. */
interface Form {
  name: string;
  description: string;
  leaseTtlSeconds: string;
  reclaim: PoolView['reclaim'];
  disconnectGraceSeconds: string;
  overdraftFactor: string;
  alarmRaiseRatio: string;
  alarmClearRatio: string;
  maxOversubscription: string;
  grantMode: PoolView['grantMode'];
}

const formOf = (p: PoolView): Form => ({
  name: p.name,
  description: p.description,
  leaseTtlSeconds: String(p.leaseTtlSeconds),
  reclaim: p.reclaim,
  disconnectGraceSeconds: String(p.disconnectGraceSeconds),
  overdraftFactor: String(p.overdraftFactor),
  alarmRaiseRatio: String(Math.round(p.alarmRaiseRatio * 100)),
  alarmClearRatio: String(Math.round(p.alarmClearRatio * 100)),
  maxOversubscription: p.maxOversubscription === null ? '' : String(p.maxOversubscription),
  grantMode: p.grantMode,
});

/** Only what changed goes to the controller; the server validates and may refuse (409 with why). */
function patchOf(p: PoolView, f: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const was = formOf(p);
  if (f.name.trim() !== was.name) out.name = f.name.trim();
  if (f.description !== was.description) out.description = f.description;
  if (f.leaseTtlSeconds !== was.leaseTtlSeconds) out.leaseTtlSeconds = Number(f.leaseTtlSeconds);
  if (f.reclaim !== was.reclaim) out.reclaim = f.reclaim;
  if (f.disconnectGraceSeconds !== was.disconnectGraceSeconds) out.disconnectGraceSeconds = Number(f.disconnectGraceSeconds);
  if (f.overdraftFactor !== was.overdraftFactor) out.overdraftFactor = Number(f.overdraftFactor);
  if (f.alarmRaiseRatio !== was.alarmRaiseRatio) out.alarmRaiseRatio = Number(f.alarmRaiseRatio) / 100;
  if (f.alarmClearRatio !== was.alarmClearRatio) out.alarmClearRatio = Number(f.alarmClearRatio) / 100;
  if (f.maxOversubscription.trim() !== was.maxOversubscription) out.maxOversubscription = f.maxOversubscription.trim() === '' ? null : Number(f.maxOversubscription);
  if (f.grantMode !== was.grantMode) out.grantMode = f.grantMode;
  return out;
}

function ReadOnly({ pool: p }: { pool: PoolView }) {
  const rows: [string, string, string][] = [
    ['leaseTtlSeconds', 'Lease lifetime', `${p.leaseTtlSeconds} s`],
    ['reclaim', 'Points of a lost gateway return', p.reclaim === 'on-expiry' ? 'when its lease expires' : `on disconnect, after ${p.disconnectGraceSeconds} s`],
    ['grantMode', 'Grants', p.grantMode === 'partial' ? 'partial (what is free)' : 'all or nothing'],
    ['overdraftFactor', 'Overdraft', p.overdraftFactor > 1 ? `× ${p.overdraftFactor}` : 'none'],
    ['maxOversubscription', 'Oversubscription cap', p.maxOversubscription === null ? 'none' : `× ${p.maxOversubscription} of the limit`],
    ['alarm', 'Alarm', `raised at ${Math.round(p.alarmRaiseRatio * 100)} %, cleared at ${Math.round(p.alarmClearRatio * 100)} %`],
  ];
  return (
    <dl class="facts" data-settings="read-only">
      {rows.map(([k, label, v]) => (
        <div key={k}>
          <dt>{label}</dt>
          <dd data-setting={k}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Pool settings: an administrator edits them, everyone else reads them. */
export function PoolSettingsCard({ pool, onSaved }: { pool: PoolView; onSaved: (p: PoolView) => void }) {
  const canAdmin = useCan('admin');
  const { api } = useConsole();
  const [form, setForm] = useState<Form>(() => formOf(pool));
  const [saved, setSaved] = useState(false);
  const save = useAction((patch: Record<string, unknown>) => api.send<PoolView>('PATCH', `/pools/${pool.id}`, patch));
  const patch = patchOf(pool, form);
  const dirty = Object.keys(patch).length > 0;
  const set = <K extends keyof Form>(k: K) => (e: { currentTarget: { value: string } }) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: e.currentTarget.value as Form[K] }));
  };
  return (
    <section class="card" aria-labelledby="pool-settings-title">
      <h2 id="pool-settings-title">Settings</h2>
      {!canAdmin ? (
        <>
          <p class="muted small">Only an administrator changes these.</p>
          <ReadOnly pool={pool} />
        </>
      ) : (
        <form
          class="form-grid"
          data-settings="editable"
          onSubmit={(e) => {
            e.preventDefault();
            void save.run(patch).then((p) => {
              if (!p) return;
              setForm(formOf(p));
              setSaved(true);
              onSaved(p);
            });
          }}
        >
          <Field label="Name">
            <input name="name" value={form.name} maxLength={100} onInput={set('name')} />
          </Field>
          <Field label="Description">
            <input name="description" value={form.description} maxLength={1000} onInput={set('description')} />
          </Field>
          <Field label="Lease lifetime" hint="seconds (15–86400); agents renew after a third">
            <input name="leaseTtlSeconds" type="number" min={15} max={86400} value={form.leaseTtlSeconds} onInput={set('leaseTtlSeconds')} />
          </Field>
          <Field label="Points of a lost gateway return">
            <select name="reclaim" value={form.reclaim} onChange={set('reclaim')}>
              <option value="on-expiry">when its lease expires (safe)</option>
              <option value="on-disconnect">as soon as it disconnects (after the grace)</option>
            </select>
          </Field>
          <Field label="Disconnect grace" hint="seconds, for on-disconnect">
            <input name="disconnectGraceSeconds" type="number" min={5} max={86400} value={form.disconnectGraceSeconds} onInput={set('disconnectGraceSeconds')} />
          </Field>
          <Field label="Grants" hint="when an allocation cannot be served in full">
            <select name="grantMode" value={form.grantMode} onChange={set('grantMode')}>
              <option value="partial">partial: give what is free, the rest waits</option>
              <option value="all-or-nothing">all or nothing: the allocation or nothing more</option>
            </select>
          </Field>
          <Field label="Overdraft factor" hint="1 = none, at most 2; the limit is license × this">
            <input name="overdraftFactor" type="number" min={1} max={2} step={0.05} value={form.overdraftFactor} onInput={set('overdraftFactor')} />
          </Field>
          <Field label="Oversubscription cap" hint="sum of allocations ÷ limit; empty = no cap">
            <input name="maxOversubscription" type="number" min={1} max={1000} step={0.1} value={form.maxOversubscription} onInput={set('maxOversubscription')} />
          </Field>
          <Field label="Alarm raised at" hint="% of the limit held">
            <input name="alarmRaiseRatio" type="number" min={1} max={100} value={form.alarmRaiseRatio} onInput={set('alarmRaiseRatio')} />
          </Field>
          <Field label="Alarm cleared at" hint="% of the limit held">
            <input name="alarmClearRatio" type="number" min={1} max={100} value={form.alarmClearRatio} onInput={set('alarmClearRatio')} />
          </Field>
          <div class="span-2">
            <ProblemNotice error={save.error} />
            {saved && !dirty ? (
              <p class="text-ok small" role="status" data-settings-saved>
                Saved.
              </p>
            ) : null}
            <button type="submit" class="button primary" disabled={!dirty || save.busy}>
              {save.busy ? 'Saving…' : 'Save settings'}
            </button>{' '}
            <button type="button" class="button" disabled={!dirty} onClick={() => setForm(formOf(pool))}>
              Reset
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
