/** Exit codes scripts can rely on; documented in `floatlease --help` and the README. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  refused: 5,
  unreachable: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  unexpected failure (a bug, or a response the CLI does not understand)
  2  usage error: bad flags or arguments, unreadable input file, or a value the controller rejected (HTTP 400)
  3  authentication or authorization failed (HTTP 401/403), or no token given
  4  not found (HTTP 404): unknown pool, gateway, code or token
  5  refused (HTTP 409/410/429, an untrusted license, an existing key file): e.g. the pool lacks the points
  6  the controller cannot be reached (connection refused, DNS, timeout, HTTP 502/503/504)`;

/** A problem object in the controller's shape (RFC 9457 plus `name`), also used for local errors. */
export interface ProblemLike {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly name: string;
  readonly [extension: string]: unknown;
}

/** An error the CLI explains in one line and turns into an exit code. */
export class CliError extends Error {
  readonly problem: ProblemLike;
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    problem?: ProblemLike,
  ) {
    super(message);
    this.name = 'CliError';
    this.problem = problem ?? { type: `about:blank`, title: localTitles[exitCode], detail: message, name: localNames[exitCode] };
  }
}

const localNames: Record<ExitCode, string> = {
  0: 'ok',
  1: 'cli-failure',
  2: 'cli-usage',
  3: 'cli-unauthenticated',
  4: 'not-found',
  5: 'cli-refused',
  6: 'controller-unreachable',
};
const localTitles: Record<ExitCode, string> = {
  0: 'OK',
  1: 'Unexpected failure',
  2: 'Usage error',
  3: 'Authentication required',
  4: 'Not found',
  5: 'Refused',
  6: 'Controller unreachable',
};

/** Maps a controller answer to an exit code: by stable problem name first, then by HTTP status. */
export function exitCodeFor(status: number, name: string | undefined): ExitCode {
  if (name === 'license-invalid') return EXIT.refused;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 410 || status === 429) return EXIT.refused;
  if (status === 400 || status === 413 || status === 415 || status === 422) return EXIT.usage;
  if (status === 502 || status === 503 || status === 504) return EXIT.unreachable;
  return EXIT.failure;
}

export const usageError = (message: string): CliError => new CliError(EXIT.usage, message);
