import type { Command } from 'commander';
import { ApiClient } from './http-client.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Where output goes; main wires it to process.stdout / process.stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** What a command action needs: the API client, the output mode and the streams. */
export class CliContext {
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
