import { useState } from 'preact/hooks';
import type { ActivationCodeCreated, PoolView } from '../../api/types.js';
import { AgentCommandBox } from '../../components/agent-command-box.js';
import { Field } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ShownOnceModal } from '../../components/shown-once-modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { date } from '../../format.js';
import { useAction } from '../../hooks.js';

/** Creates an activation code and shows it exactly once: the controller keeps only its hash. */
export function CreateCodeModal({ pools, poolId, onClose }: { pools: readonly PoolView[]; poolId: string; onClose: (created: boolean) => void }) {
  const { api } = useConsole();
  const [pool, setPool] = useState(poolId || pools[0]?.id || '');
  const [seats, setSeats] = useState('10');
  const [label, setLabel] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<ActivationCodeCreated | undefined>();
  const create = useAction(() =>
    api.send<ActivationCodeCreated>('POST', `/pools/${pool}/activation-codes`, {
      seats: Number(seats),
      ...(label.trim() ? { label: label.trim() } : {}),
      // The end of the chosen day, local time.
      ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
    }),
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    const c = await create.run();
    if (c) setCreated(c);
  };

  if (created) {
    return (
      <ShownOnceModal
        title="Activation code created"
        noun="code"
        secret={created.code}
        marker="data-code"
        lead="Give this code to the gateways' agents. "
        onClose={() => onClose(true)}
      >
        <p class="muted small">
          {created.seats} {created.seats === 1 ? 'seat' : 'seats'}
          {created.expiresAt ? `, valid until ${date(created.expiresAt)}` : ', no expiry'}. Enrolling again from the same hardware uses no second seat.
        </p>
        <p class="small">Start an agent on the gateway (from the floatlease folder) with:</p>
        <AgentCommandBox code={created.code} />
      </ShownOnceModal>
    );
  }

  return (
    <Modal
      title="New activation code"
      onClose={() => onClose(false)}
      confirmDiscard={label.trim() || expires ? 'Discard this new code’s settings?' : undefined}
      footer={
        <FormFooter form="code-form" onCancel={() => onClose(false)} busy={create.busy} ready={!!pool && Number(seats) >= 1}>
          {create.busy ? 'Creating…' : 'Create code'}
        </FormFooter>
      }
    >
      <form id="code-form" class="form-grid" onSubmit={(e) => void submit(e)}>
        <Field label="Pool">
          <select name="pool" value={pool} onChange={(e) => setPool(e.currentTarget.value)}>
            {pools.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Seats" hint="how many gateways may enroll">
          <input name="seats" type="number" min={1} max={100000} value={seats} onInput={(e) => setSeats(e.currentTarget.value)} />
        </Field>
        <Field label="Label" hint="optional, e.g. the site or installer">
          <input name="label" value={label} maxLength={200} onInput={(e) => setLabel(e.currentTarget.value)} />
        </Field>
        <Field label="Expires" hint="optional; enrolled gateways keep working">
          <input name="expires" type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <div class="span-2">
          <ProblemNotice error={create.error} />
        </div>
      </form>
    </Modal>
  );
}
