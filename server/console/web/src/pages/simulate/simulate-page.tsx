import { useEffect, useRef, useState } from 'preact/hooks';
import type { PoolPolicyView, PoolView, SimulateView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan, useConsole } from '../../context.js';
import { useAction, useQuery } from '../../hooks.js';
import { bodyOf, changedCount, formOf, type SimForm } from './simulate-form.js';
import { SimulateReport } from './simulate-report.js';
import './simulate.css';

/**
 * The what-if replay (issue 21): the pool's recorded history replayed under other settings, side
 * by side with the settings in force. The replay is a POST, which the controller gives operators
 * and administrators; a viewer sees the settings in force and is told who can run it.
 */
export function SimulatePage({ poolId }: { poolId: string }) {
  const pool = useQuery(`pool-${poolId}`, (api, signal) => api.get<PoolView>(`/pools/${poolId}`, signal));
  const policy = useQuery(`pool-policy-${poolId}`, (api, signal) => api.get<PoolPolicyView>(`/pools/${poolId}/policy`, signal));
  const p = pool.data;
  const pol = policy.data;
  return (
    <section class="stack" data-simulate-page={poolId}>
      <div class="page-head">
        <div>
          <p class="small">
            <a href="/pools">Pools</a> / {p ? <a href={`/pools/${p.id}`}>{p.name}</a> : null}
          </p>
          <h1>What-if replay</h1>
          <p class="muted">
            Replays this pool’s recorded history (presence, usage, allocation changes and borrows) under other settings and compares the outcome with the
            settings in force. Nothing changes in the pool.
          </p>
        </div>
      </div>
      <ProblemNotice error={pool.error ?? policy.error} />
      {p && pol ? <SimulateWorkbench key={`${p.id}`} pool={p} policy={pol} /> : null}
    </section>
  );
}

function SimulateWorkbench({ pool, policy }: { pool: PoolView; policy: PoolPolicyView }) {
  const { api } = useConsole();
  const canRun = useCan('operator');
  const [was] = useState<SimForm>(() => formOf(pool, policy));
  const [form, setForm] = useState<SimForm>(was);
  const [result, setResult] = useState<SimulateView | undefined>();
  const run = useAction((body: ReturnType<typeof bodyOf>) => api.send<SimulateView>('POST', `/pools/${pool.id}/simulate`, body));
  const heading = useRef<HTMLHeadingElement>(null);
  // A new report takes the focus, so keyboard and screen-reader users land on what they asked for.
  useEffect(() => {
    if (result) heading.current?.focus();
  }, [result]);

  const set = <K extends keyof SimForm>(k: K) => (e: { currentTarget: { value: string } }) => setForm((f) => ({ ...f, [k]: e.currentTarget.value as SimForm[K] }));
  const changed = changedCount(was, form);
  const elasticOff = !form.elastic;
  return (
    <>
      <form
        class="card"
        aria-labelledby="sim-settings-title"
        data-sim-form={canRun ? 'editable' : 'read-only'}
        onSubmit={(e) => {
          e.preventDefault();
          if (!canRun) return;
          void run.run(bodyOf(was, form)).then((v) => v && setResult(v));
        }}
      >
        <header class="card-head">
          <h2 id="sim-settings-title">Settings to try</h2>
          {changed > 0 ? (
            <span class="small muted" data-sim-changed={changed}>
              {changed} changed from the settings in force
            </span>
          ) : (
            <span class="small muted" data-sim-changed="0">
              as in force
            </span>
          )}
        </header>
        {!canRun ? (
          <p class="notice notice-warn" data-sim-read-only>
            Running a replay needs the operator or administrator role; your token is a viewer. These are the settings in force.
          </p>
        ) : null}
        <fieldset class="sim-fieldset" disabled={!canRun}>
          <legend class="sr-only">What-if settings</legend>
          <div class="form-grid">
            <Field label="History to replay">
              <select name="days" value={form.days} onChange={set('days')}>
                <option value="1">the last day</option>
                <option value="7">the last 7 days</option>
                <option value="14">the last 14 days</option>
                <option value="30">the last 30 days</option>
              </select>
            </Field>
            <Field label="Lease lifetime (TTL)" hint={`seconds; in force ${was.ttlSec}`}>
              <input name="ttlSec" type="number" min={1} max={2_592_000} required value={form.ttlSec} onInput={set('ttlSec')} />
            </Field>
            <Field label="Points of a lost gateway return">
              <select name="reclaim" value={form.reclaim} onChange={set('reclaim')}>
                <option value="on-expiry">when its lease expires</option>
                <option value="on-disconnect">on disconnect, after the grace</option>
              </select>
            </Field>
            <Field label="Disconnect grace" hint="seconds, for on-disconnect">
              <input name="graceSec" type="number" min={1} max={2_592_000} required value={form.graceSec} onInput={set('graceSec')} />
            </Field>
            <Field label="Overdraft factor" hint="1 = none; the limit is capacity × this">
              <input name="overdraftFactor" type="number" min={1} max={10} step={0.05} required value={form.overdraftFactor} onInput={set('overdraftFactor')} />
            </Field>
            <Field label="False reclaim window" hint="seconds: a reclaim is false when the gateway is back within this (both columns)">
              <input name="falseReclaimWindowSec" type="number" min={1} max={2_592_000} required value={form.falseReclaimWindowSec} onInput={set('falseReclaimWindowSec')} />
            </Field>
          </div>
          <h3 class="sim-subhead">Elastic allocations</h3>
          <label class="check sim-check">
            <input type="checkbox" name="elastic" checked={form.elastic} onChange={(e) => setForm((f) => ({ ...f, elastic: e.currentTarget.checked }))} />
            Resize gateways that have an elastic range, by this policy
          </label>
          <div class="form-grid">
            <Field label="Headroom" hint="% of usage kept above it">
              <input name="headroomPct" type="number" min={0} max={1000} step="any" required disabled={elasticOff} value={form.headroomPct} onInput={set('headroomPct')} />
            </Field>
            <Field label="Step" hint="largest resize, % of the gateway's max">
              <input name="stepPct" type="number" min={0.1} max={100} step="any" required disabled={elasticOff} value={form.stepPct} onInput={set('stepPct')} />
            </Field>
            <Field label="Cooldown" hint="seconds between two resizes of a gateway">
              <input name="cooldownSec" type="number" min={0} max={604_800} required disabled={elasticOff} value={form.cooldownSec} onInput={set('cooldownSec')} />
            </Field>
          </div>
          <h3 class="sim-subhead">Offline borrowing</h3>
          <div class="form-grid">
            <Field label="Longest borrow" hint="seconds; 0 turns borrowing off">
              <input name="borrowMaxSec" type="number" min={0} max={2_592_000} required value={form.borrowMaxSec} onInput={set('borrowMaxSec')} />
            </Field>
            <Field label="Borrowed points cap" hint="% of the pool's capacity borrowed at once">
              <input name="borrowMaxPct" type="number" min={0} max={100} step="any" required value={form.borrowMaxPct} onInput={set('borrowMaxPct')} />
            </Field>
          </div>
        </fieldset>
        <ProblemNotice error={run.error} />
        {canRun ? (
          <div class="sim-actions">
            <button type="submit" class="button primary" disabled={run.busy}>
              {run.busy ? 'Replaying…' : 'Run the replay'}
            </button>{' '}
            <button type="button" class="button" disabled={changed === 0 && form.days === was.days && form.falseReclaimWindowSec === was.falseReclaimWindowSec} onClick={() => setForm(was)}>
              Back to the settings in force
            </button>
          </div>
        ) : null}
      </form>
      <section class="card" aria-labelledby="sim-report-title" aria-busy={run.busy ? 'true' : 'false'} data-sim-report={result ? 'ready' : run.busy ? 'running' : 'none'}>
        <h2 id="sim-report-title" tabIndex={-1} ref={heading}>
          Recorded settings against what if
        </h2>
        <p class="sr-only" role="status">
          {run.busy ? 'Replaying the history…' : result ? 'The replay is done.' : ''}
        </p>
        {result ? <SimulateReport view={result} /> : <p class="muted">{canRun ? 'Choose settings and run the replay; the two outcomes appear here side by side.' : 'No replay run.'}</p>}
      </section>
    </>
  );
}
