import { useState } from 'preact/hooks';
import type { PoolView } from '../../api/types.js';
import { Field } from '../../components/bits.js';
import { FormFooter, Modal } from '../../components/modal.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { date, num } from '../../format.js';
import { useAction } from '../../hooks.js';
import { LicenseInput } from './license-input.js';

/** Uploads a license to a pool; a license below what is held may be forced after the refusal. */
export function LicenseModal({ pool, onClose, onDone }: { pool: PoolView; onClose: () => void; onDone: () => void }) {
  const { api } = useConsole();
  const [license, setLicense] = useState('');
  const [force, setForce] = useState(false);
  const upload = useAction(() => api.send<PoolView>('PUT', `/pools/${pool.id}/license`, { license: license.trim(), force }));
  const shortfall = upload.error?.problem === 'license-shortfall';
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await upload.run()) onDone();
  };
  return (
    <Modal
      title={`Upload a license to ${pool.name}`}
      onClose={onClose}
      wide
      footer={
        <FormFooter form="license-form" onCancel={onClose} busy={upload.busy} ready={!!license.trim()} danger={force}>
          {upload.busy ? 'Uploading…' : force ? 'Upload and force' : 'Upload license'}
        </FormFooter>
      }
    >
      <form id="license-form" onSubmit={(e) => void submit(e)}>
        {pool.license ? (
          <p class="muted">
            Replaces the current license ({pool.license.customer}, {num(pool.license.points.tags)} tags, {num(pool.license.points.connections)} connections, until{' '}
            {date(pool.license.expiresAt)}); the old one is kept in the history.
          </p>
        ) : (
          <p class="muted">The license gives the pool its capacity and the plugins its gateways may use.</p>
        )}
        <LicenseInput value={license} onChange={setLicense} />
        <ProblemNotice
          error={upload.error}
          hint={shortfall ? 'You can force it: the pool is then marked over-committed and grants no new points until it fits again.' : undefined}
        />
        {shortfall || force ? (
          <Field label="Force">
            <span class="check">
              <input type="checkbox" name="force" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Upload anyway and mark the pool
              over-committed
            </span>
          </Field>
        ) : null}
      </form>
    </Modal>
  );
}
