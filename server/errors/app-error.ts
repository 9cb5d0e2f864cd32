import type { ProblemName } from '../../shared/protocol/problem.js';

const statusByName: Record<ProblemName, number> = {
  'validation-failed': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'insufficient-points': 409,
  'below-usage': 409,
  'license-shortfall': 409,
  'license-invalid': 400,
  'license-expired': 409,
  'pool-over-committed': 409,
  'oversubscription-cap': 409,
  'activation-code-unknown': 404,
  'activation-code-revoked': 410,
  'activation-code-expired': 410,
  'activation-code-exhausted': 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  unavailable: 503,
  internal: 500,
};

/**
 * The one error type services throw. It carries a stable name, an HTTP status for the
 * REST edge, and extension members (e.g. requested/free figures) that clients can read.
 */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly problem: ProblemName,
    message: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = statusByName[problem];
  }
}

export const notFound = (what: string, id: string) => new AppError('not-found', `${what} ${id} does not exist`, { id });
