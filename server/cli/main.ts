import type { Io } from './context.js';
import { runCli } from './run.js';

// `floatlease audit | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const io: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };
process.exitCode = await runCli(process.argv.slice(2), process.env, io);
