import { useState } from 'preact/hooks';
import type { GatewayView, PoolView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { num, relative } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';
import type { AgentSetup } from '../../agent-command.js';

interface EditorProps {
  readonly gateway: GatewayView;
  readonly pool: PoolView | undefined;
  readonly onClose: () => void;
  readonly onSaved: () => void;
}

const whole = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s) : NaN);

/** Raises, lowers or forces a gateway's points; the controller decides and its refusal is shown as is. */
export function AllocationEditor({ gateway: g, pool, onClose, onSaved }: EditorProps) {
  const { api } = useConsole();
  const [tags, setTags] = useState(String(g.allocation.tags));
  const [connections, setConnections] = useState(String(g.allocation.connections));
  const [plugins, setPlugins] = useState<readonly string[]>(g.allocation.plugins);
  const [force, setForce] = useState(false);
  const [confirmRelease, setConfirmRelease] = useState(false);
  const t = whole(tags);
  const c = whole(connections);
  const valid = Number.isFinite(t) && Number.isFinite(c);
  const belowUsage = valid && g.usage !== null && (t < g.usage.tags || c < g.usage.connections);

  const save = useAction(() => api.send<GatewayView>('PUT', `/gateways/${g.id}/allocation`, { tags: t, connections: c, plugins, force }));
  const release = useAction(() => api.send<GatewayView>('POST', `/gateways/${g.id}/release`));
  const error = save.error ?? release.error;
  const setup = useQuery<AgentSetup>('agent-setup', (a, signal) => a.get<AgentSetup>('/agent-setup', signal));
  const trial = setup.data?.trial;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (await save.run()) onSaved();
  };
  const doRelease = async () => {
    if (!confirmRelease) return setConfirmRelease(true);
    if (await release.run()) onSaved();
  };
  const togglePlugin = (p: string, on: boolean) => setPlugins((cur) => (on ? [...cur, p] : cur.filter((x) => x !== p)));
  const poolPlugins = [...new Set([...(pool?.plugins ?? []), ...g.allocation.plugins])];

  return (
    <Modal
      title={`Points for ${g.name}`}
      onClose={onClose}
      footer={
        <>
          {confirmRelease ? (
            <button type="button" class="button push-left" onClick={() => setConfirmRelease(false)}>
              Keep the points
            </button>
          ) : null}
          <button type="button" class={`button ${confirmRelease ? 'danger' : 'danger-ghost push-left'}`} onClick={() => void doRelease()} disabled={release.busy}>
            {confirmRelease ? `Release all points of ${g.name}` : 'Release all points'}
          </button>
          <FormFooter form="alloc-form" onCancel={onClose} busy={save.busy} ready={valid} danger={force}>
            {save.busy ? 'Saving…' : force ? 'Save (forced)' : 'Save'}
          </FormFooter>
        </>
      }
    >
      {confirmRelease ? (
        <div class="banner banner-bad" role="alert" data-release-confirm>
          <strong>Release all points of {g.name}?</strong>{' '}
          {g.usage ? (
            <>
              It uses {num(g.usage.tags)} tags and {num(g.usage.connections)} connections now (reported {relative(g.usage.reportedAt)}).{' '}
            </>
          ) : (
            <>Its usage has not been reported yet. </>
          )}
          Its allocation becomes 0 and, once its agent has the new lease, it drops to the trial allowance
          {trial ? ` of ${num(trial.tags)} tags and ${num(trial.connections)} connections` : ''}
          {g.usage && trial && (g.usage.tags > trial.tags || g.usage.connections > trial.connections)
            ? '; what it uses above that is blocked or stopped by its over-limit policy.'
            : '.'}{' '}
          The points return to {pool?.name ?? 'the pool'} when the agent acknowledges or its lease expires.
        </div>
      ) : null}
      <form id="alloc-form" onSubmit={(e) => void submit(e)}>
        <div class="facts-inline">
          <span>
            In use:{' '}
            {g.usage ? (
              <>
                <b>{num(g.usage.tags)}</b> tags, <b>{num(g.usage.connections)}</b> connections <span class="muted">({relative(g.usage.reportedAt)})</span>
              </>
            ) : (
              <span class="muted">not reported yet</span>
            )}
          </span>
          {pool ? (
            <span>
              Free in {pool.name}: <b>{num(pool.free.tags)}</b> tags, <b>{num(pool.free.connections)}</b> connections{' '}
              <span class="muted">
                (this gateway can have up to {num(pool.free.tags + g.held.tags)} tags, {num(pool.free.connections + g.held.connections)} connections)
              </span>
            </span>
          ) : null}
        </div>
        <div class="form-grid">
          <Field label="Tags" hint={`now ${num(g.allocation.tags)}`}>
            <input name="tags" type="number" min={0} inputMode="numeric" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </Field>
          <Field label="Connections" hint={`now ${num(g.allocation.connections)}`}>
            <input name="connections" type="number" min={0} inputMode="numeric" value={connections} onInput={(e) => setConnections(e.currentTarget.value)} />
          </Field>
        </div>
        <Field label="Plugins">
          {poolPlugins.length === 0 ? (
            <span class="muted">The pool's license enables no commercial plugins.</span>
          ) : (
            <span class="check-list">
              {poolPlugins.map((p) => (
                <label class="check" key={p}>
                  <input type="checkbox" name="plugin" value={p} checked={plugins.includes(p)} onChange={(e) => togglePlugin(p, e.currentTarget.checked)} /> {p}
                </label>
              ))}
            </span>
          )}
        </Field>
        {belowUsage || force || save.error?.problem === 'below-usage' ? (
          <label class="check force">
            <input type="checkbox" name="force" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} />
            <span>
              Lower below what the gateway uses (force). Its agent then applies the over-limit policy: it blocks new tags and connections, or stops the newest
              south nodes.
            </span>
          </label>
        ) : null}
        <ProblemNotice error={error} />
      </form>
    </Modal>
  );
}
