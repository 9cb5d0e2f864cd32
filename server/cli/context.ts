import type { Command } from 'commander';
import { CliError, EXIT, usageError } from './errors.js';
import { ApiClient } from './http-client.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Where output goes; main wires it to process.stdout / process.stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Asks a yes/no question on the terminal; absent when there is none (a pipe, a script). */
  confirm?(question: string): Promise<boolean>;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** What a command action needs: the API client, the output mode and the streams. */
class CliContext {
  private client: ApiClient | undefined;

  constructor(
    private readonly options: GlobalOptions,
    private readonly env: Env,
    private readonly io: Io,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  /** Flags win over the environment; the URL defaults to a local controller. */
  api(): ApiClient {
    this.client ??= new ApiClient({
      url: this.options.url ?? (this.env.FLOATLEASE_URL || DEFAULT_URL),
      token: this.options.token ?? (this.env.FLOATLEASE_TOKEN || undefined),
    });
    return this.client;
  }

  /** A line on stdout. */
  print(text: string): void {
    this.io.out(`${text}\n`);
  }

  /** A line on stderr: notes for people that must not pollute piped output. */
  note(text: string): void {
    this.io.err(`${text}\n`);
  }

  /**
   * Destructive commands ask first: `--yes` skips the question; without a terminal to ask on and
   * without `--yes` the command refuses (exit 2) rather than acting unasked.
   */
  async confirm(question: string, yes: boolean | undefined): Promise<void> {
    if (yes) return;
    if (!this.io.confirm) throw usageError(`${question.replace(/\?$/, '')}: not confirmed; pass --yes to confirm without a terminal`);
    if (!(await this.io.confirm(`${question} [y/N] `))) throw new CliError(EXIT.refused, 'not confirmed; nothing changed');
  }

  /** The API's JSON with `--json`, else the human rendering. */
  result(raw: unknown, human: () => string): void {
    if (this.json) this.print(JSON.stringify(raw, null, 2));
    else this.print(human());
  }
}

export type ContextOf = (cmd: Command) => CliContext;

export function contextFactory(env: Env, io: Io): ContextOf {
  return (cmd) => new CliContext(cmd.optsWithGlobals<GlobalOptions>(), env, io);
}
