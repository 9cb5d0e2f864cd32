import { useState } from 'preact/hooks';
import type { ApiError } from '../../api/client.js';
import type { GatewayView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { num } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';
import type { AgentSetup } from '../../agent-command.js';

/** The bulk endpoints take at most this many gateways in one transaction (shared bulkAllocationBody). */
const BULK_MAX = 2000;

type Excess = { kind: string; allocated: number; most: number };
type Shortfall = { kind: string; requested: number; available: number };

/**
 * The first refusal in words: which gateway and by how much. The controller's detail already says
 * it; this line pulls the figures out so they stand above the rest of the message.
 */
function refusalLine(err: ApiError | undefined): string | undefined {
  if (!err) return undefined;
  const b = err.body as { gatewayName?: string; gatewayId?: string; excess?: Excess[]; shortfalls?: Shortfall[] };
  const who = b.gatewayName ?? b.gatewayId;
  if (!who) return undefined;
  const parts = [
    ...(b.excess ?? []).map((e) => `${e.kind} over the pool's cap by ${num(e.allocated - e.most)}`),
    ...(b.shortfalls ?? []).map((s) => `${s.kind} short by ${num(s.requested - s.available)}`),
  ];
  return `Refused at gateway ${who}${parts.length ? `: ${parts.join(', ')}` : ''}. Nothing was changed.`;
}

const figure = (s: string): number | undefined | null => (s.trim() === '' ? undefined : /^\d+$/.test(s.trim()) ? Number(s) : null);

/** Set or add points on every selected gateway in one all-or-nothing request. */
export function BulkAllocationDialog({ ids, onClose, onDone }: { ids: readonly string[]; onClose: () => void; onDone: (changed: number) => void }) {
  const { api } = useConsole();
  const [mode, setMode] = useState<'set' | 'add'>('set');
  const [tags, setTags] = useState('');
  const [connections, setConnections] = useState('');
  const t = figure(tags);
  const c = figure(connections);
  const valid = t !== null && c !== null && (t !== undefined || c !== undefined) && ids.length <= BULK_MAX;
  const apply = useAction(() =>
    api.send<{ changed: number }>('POST', '/gateways/allocations', {
      mode,
      items: ids.map((gatewayId) => ({ gatewayId, ...(t === undefined ? {} : { tags: t }), ...(c === undefined ? {} : { connections: c }) })),
    }),
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await apply.run();
    if (r) onDone(r.changed);
  };
  const refusal = refusalLine(apply.error);
  return (
    <Modal
      title={`Points for ${num(ids.length)} gateways`}
      onClose={onClose}
      confirmDiscard={tags || connections ? 'Discard these figures?' : undefined}
      footer={
        <FormFooter form="bulk-alloc-form" onCancel={onClose} busy={apply.busy} ready={valid}>
          {apply.busy ? 'Applying…' : `Apply to ${num(ids.length)} gateways`}
        </FormFooter>
      }
    >
      <form id="bulk-alloc-form" onSubmit={(e) => void submit(e)}>
        <p class="muted">
          All or nothing: the controller applies the change to every selected gateway in one transaction, or to none and names the first gateway it refused.
          A field left empty keeps each gateway's figure.
        </p>
        {ids.length > BULK_MAX ? (
          <div class="notice notice-warn" role="alert">
            At most {num(BULK_MAX)} gateways in one action; narrow the filter.
          </div>
        ) : null}
        <fieldset class="radio-row">
          <legend class="field-label">Change</legend>
          <label class="check">
            <input type="radio" name="mode" value="set" checked={mode === 'set'} onChange={() => setMode('set')} /> Set each allocation to
          </label>
          <label class="check">
            <input type="radio" name="mode" value="add" checked={mode === 'add'} onChange={() => setMode('add')} /> Add to each allocation
          </label>
        </fieldset>
        <div class="form-grid">
          <Field label="Tags" hint="empty: unchanged">
            <input name="tags" type="number" min={0} inputMode="numeric" value={tags} class={t === null ? 'invalid' : ''} onInput={(e) => setTags(e.currentTarget.value)} />
          </Field>
          <Field label="Connections" hint="empty: unchanged">
            <input name="connections" type="number" min={0} inputMode="numeric" value={connections} class={c === null ? 'invalid' : ''} onInput={(e) => setConnections(e.currentTarget.value)} />
          </Field>
        </div>
        {refusal ? (
          <p class="refusal" data-refusal>
            <strong>{refusal}</strong>
          </p>
        ) : null}
        <ProblemNotice error={apply.error} />
      </form>
    </Modal>
  );
}

/** Takes all points back from every selected gateway, after saying what that does to them. */
export function BulkReleaseDialog({ ids, known, onClose, onDone }: { ids: readonly string[]; known: readonly GatewayView[]; onClose: () => void; onDone: (changed: number) => void }) {
  const { api } = useConsole();
  const release = useAction(() => api.send<{ changed: number }>('POST', '/gateways/release', { gatewayIds: ids }));
  const setup = useQuery<AgentSetup>('agent-setup', (a, signal) => a.get<AgentSetup>('/agent-setup', signal));
  const trial = setup.data?.trial;
  // Usage is known for the rows loaded on this page; the rest of a "select all" is counted, not shown.
  const over = trial ? known.filter((g) => g.usage && (g.usage.tags > trial.tags || g.usage.connections > trial.connections)) : [];
  const go = async () => {
    const r = await release.run();
    if (r) onDone(r.changed);
  };
  return (
    <Modal
      title={`Release ${num(ids.length)} gateways`}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            Keep the points
          </button>
          <button type="button" class="button danger" onClick={() => void go()} disabled={release.busy || ids.length > BULK_MAX}>
            {release.busy ? 'Releasing…' : `Release all points of ${num(ids.length)} gateways`}
          </button>
        </>
      }
    >
      <div class="banner banner-bad" role="alert" data-release-confirm>
        <strong>Release all points of {num(ids.length)} gateways?</strong> Each allocation becomes 0 and, once its agent has the new lease, the gateway drops
        to the trial allowance{trial ? ` of ${num(trial.tags)} tags and ${num(trial.connections)} connections` : ''}
        {over.length
          ? `; ${num(over.length)} of them (${over
              .slice(0, 3)
              .map((g) => `${g.name} uses ${num(g.usage!.tags)} tags`)
              .join(', ')}${over.length > 3 ? ', …' : ''}) use more than that, which their over-limit policy then blocks or stops`
          : ''}
        . Each
        release is audited as allocation.released.
      </div>
      {ids.length > BULK_MAX ? <div class="notice notice-warn">At most {num(BULK_MAX)} gateways in one action; narrow the filter.</div> : null}
      <ProblemNotice error={release.error} />
    </Modal>
  );
}
