import type { Io } from './context.js';
import { runCli } from './run.js';

// `floatlease audit | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

/** A question on the terminal (stderr, so piped stdout stays clean); only when stdin is one. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

const io: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  ...(process.stdin.isTTY ? { confirm } : {}),
};
process.exitCode = await runCli(process.argv.slice(2), process.env, io);
