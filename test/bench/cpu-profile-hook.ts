import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

/**
 * `--import` this into the controller (BENCH_CONTROLLER_NODE_OPTIONS) or the fleet workers
 * (BENCH_PROFILE_FLEET=1) to get a V8 CPU profile in $BENCH_PROFILE_DIR, since --cpu-prof is not
 * allowed in NODE_OPTIONS. By default it covers the
 * whole run; with BENCH_PROFILE_PHASE set, the bench sends SIGUSR2 before and after that phase and
 * only the phase is profiled.
 */
const dir = process.env.BENCH_PROFILE_DIR ?? '/tmp';
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });

let running = false;
const start = () => {
  session.post('Profiler.start');
  running = true;
};
const stop = (name: string) => {
  if (!running) return;
  running = false;
  // An in-thread session answers synchronously, so the file is written before the process ends.
  session.post('Profiler.stop', (err, result) => {
    if (!err) fs.writeFileSync(path.join(dir, `${process.env.BENCH_PROFILE_ROLE ?? 'controller'}-${process.pid}-${name}.cpuprofile`), JSON.stringify(result.profile));
  });
};

const phase = process.env.BENCH_PROFILE_PHASE;
if (phase) process.on('SIGUSR2', () => (running ? stop(phase) : start()));
else start();
process.on('exit', () => stop('run'));
