import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startControllerProcess, waitExit, type ControllerProcess } from '../../helpers/controller-process.js';
import { waitFor } from '../../helpers/ports.js';

// Issue 15, finding 8: a killed embedded PostgreSQL was neither restarted nor noticed by /healthz,
// SIGTERM then took the full shutdown timeout, and a SIGKILLed controller left its postmaster running.
const started: ControllerProcess[] = [];
afterEach(async () => {
  for (const c of started.splice(0)) {
    await c.stop('SIGKILL').catch(() => undefined);
    await fs.rm(c.dataDir, { recursive: true, force: true });
  }
});

const pgData = (c: ControllerProcess) => path.join(c.dataDir, 'postgres', 'data');
const postmasterPid = async (c: ControllerProcess) => Number((await fs.readFile(path.join(pgData(c), 'postmaster.pid'), 'utf8')).split('\n')[0]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('a killed postmaster is restarted; a SIGKILLed controller does not leave it running', async () => {
  const ctl = await startControllerProcess({}, { readyTimeoutMs: 90_000 });
  started.push(ctl);
  const first = await postmasterPid(ctl);
  process.kill(first, 'SIGKILL');
  await waitFor('a new postmaster', async () => !alive(first) && (await postmasterPid(ctl).catch(() => first)) !== first, { timeoutMs: 30_000 });
  await waitFor('ready again', async () => (await fetch(`${ctl.url}/readyz`)).status === 200, { timeoutMs: 30_000 });
  expect((await fetch(`${ctl.url}/healthz`)).status).toBe(200);
  expect(ctl.logs.some((l) => l.msg === 'embedded PostgreSQL restarted')).toBe(true);

  const second = await postmasterPid(ctl);
  ctl.child.kill('SIGKILL');
  await waitExit(ctl.child);
  await waitFor('postmaster gone after the controller was killed', () => !alive(second), { timeoutMs: 20_000 });
}, 180_000);

it('when PostgreSQL cannot be restarted the controller exits non-zero, in order, within a 2 s shutdown budget', async () => {
  const ctl = await startControllerProcess({ SHUTDOWN_TIMEOUT_MS: '2000' }, { readyTimeoutMs: 90_000 });
  started.push(ctl);
  const pid = await postmasterPid(ctl);
  // Without its data folder every restart fails.
  await fs.rename(pgData(ctl), `${pgData(ctl)}.gone`);
  process.kill(pid, 'SIGKILL');
  const code = await waitExit(ctl.child, 60_000);
  expect(code).toBe(1);
  expect(ctl.logs.some((l) => l.msg === 'unrecoverable failure; stopping')).toBe(true);
  // It stopped in order (the hard timeout logs "shutdown timed out" instead).
  expect(ctl.logs.some((l) => l.msg === 'stopped')).toBe(true);
  expect(ctl.logs.some((l) => l.msg === 'shutdown timed out; exiting')).toBe(false);
}, 180_000);
