import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

/**
 * `--import` this into the controller (BENCH_CONTROLLER_NODE_OPTIONS) to get a V8 CPU profile of
 * the whole run in $BENCH_PROFILE_DIR, since --cpu-prof is not allowed in NODE_OPTIONS.
 */
const dir = process.env.BENCH_PROFILE_DIR ?? '/tmp';
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');
process.on('exit', () => {
  // An in-thread session answers synchronously, so the file is written before the process ends.
  session.post('Profiler.stop', (err, result) => {
    if (!err) fs.writeFileSync(path.join(dir, `controller-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
