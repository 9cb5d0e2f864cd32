import { CommanderError } from 'commander';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { buildProgram } from './program.js';
import type { Io } from './context.js';

/** Runs the CLI and returns its exit code; errors become one line on stderr (and a problem object with --json). */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: Io): Promise<ExitCode> {
  const json = argv.includes('--json');
  const fail = (err: CliError): ExitCode => {
    io.err(`floatlease: ${err.message}\n`);
    if (json) io.out(`${JSON.stringify({ exitCode: err.exitCode, ...err.problem }, null, 2)}\n`);
    return err.exitCode;
  };
  try {
    await buildProgram(env, io).parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // `--help`, `help <command>` and `--version` exit 0; help shown for an incomplete command is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'commander.help' && err.exitCode === 0) return EXIT.ok;
      // Commander already printed its one-line message (or the help of an incomplete command).
      if (json) io.out(`${JSON.stringify({ exitCode: EXIT.usage, type: 'about:blank', title: 'Usage error', detail: err.message.replace(/^error: /, ''), name: 'cli-usage' }, null, 2)}\n`);
      return EXIT.usage;
    }
    if (err instanceof CliError) return fail(err);
    const message = err instanceof Error ? err.message : String(err);
    return fail(new CliError(EXIT.failure, `unexpected failure: ${message}`));
  }
}
