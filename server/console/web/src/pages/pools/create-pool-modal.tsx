import { useState } from 'preact/hooks';
import type { PoolView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { Modal } from '../../components/modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { useAction } from '../../hooks.js';
import { LicenseInput } from './license-input.js';

/** Creates a pool and, when a license is given, uploads it right away. */
export function CreatePoolModal({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [ttl, setTtl] = useState('300');
  const [reclaim, setReclaim] = useState<'on-expiry' | 'on-disconnect'>('on-expiry');
  const [license, setLicense] = useState('');
  const [created, setCreated] = useState<PoolView | undefined>();
  const save = useAction(async () => {
    const pool =
      created ??
      (await api.send<PoolView>('POST', '/pools', {
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
        leaseTtlSeconds: Number(ttl),
        reclaim,
      }));
    setCreated(pool);
    if (license.trim()) await api.send<PoolView>('PUT', `/pools/${pool.id}/license`, { license: license.trim() });
    return pool;
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await save.run()) onDone();
  };
  const close = () => (created ? onDone() : onClose());
  return (
    <Modal
      title={created ? `Pool ${created.name} created — upload its license` : 'New pool'}
      onClose={close}
      confirmDiscard={!created && (name.trim() || description.trim() || license.trim()) ? 'Discard the new pool? What you entered is lost.' : created && license.trim() ? 'Close without uploading the license?' : undefined}
      wide
      footer={
        <>
          <button type="button" class="button" onClick={close}>
            {created ? 'Skip the license' : 'Cancel'}
          </button>
          <button type="submit" form="pool-form" class="button primary" disabled={save.busy || !name.trim()}>
            {save.busy ? 'Saving…' : created ? 'Upload license' : license.trim() ? 'Create pool with license' : 'Create pool'}
          </button>
        </>
      }
    >
      <form id="pool-form" class="form-grid" onSubmit={(e) => void submit(e)}>
        <Field label="Name">
          <input name="name" value={name} disabled={!!created} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. plant-berlin" />
        </Field>
        <Field label="Lease lifetime" hint="seconds; agents renew after a third">
          <input name="ttl" type="number" min={15} max={86400} value={ttl} disabled={!!created} onInput={(e) => setTtl(e.currentTarget.value)} />
        </Field>
        <Field label="Description">
          <input name="description" value={description} disabled={!!created} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <Field label="Points of a lost gateway return" hint="on-disconnect is faster but trusts presence">
          <select name="reclaim" value={reclaim} disabled={!!created} onChange={(e) => setReclaim(e.currentTarget.value as typeof reclaim)}>
            <option value="on-expiry">when its lease expires (safe)</option>
            <option value="on-disconnect">as soon as it disconnects</option>
          </select>
        </Field>
        <div class="span-2">
          <span class="field-label">License</span>
          <LicenseInput value={license} onChange={setLicense} />
        </div>
        <div class="span-2">
          <ProblemNotice error={save.error} />
        </div>
      </form>
    </Modal>
  );
}
