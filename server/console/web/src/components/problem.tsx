import type { ApiError } from '../api/client.js';

/** Plain-words headlines for the controller's stable problem names; the detail says the rest. */
const headlines: Record<string, string> = {
  'insufficient-points': 'The pool does not have enough free points',
  'below-usage': 'The gateway already uses more than that',
  'license-shortfall': 'This license is smaller than what is already held',
  'license-invalid': 'This license cannot be used',
  'license-expired': "The pool's license has expired",
  'pool-over-committed': 'The pool is over-committed',
  'oversubscription-cap': "That would exceed the pool's oversubscription cap",
  'validation-failed': 'Please check the values',
  'not-found': 'It no longer exists',
  forbidden: 'Your token’s role does not allow this',
  unauthorized: 'The token was not accepted',
  conflict: 'That cannot be done right now',
  'rate-limited': 'Too many attempts; wait a minute',
  network: 'The controller cannot be reached',
  unavailable: 'The controller is temporarily unavailable',
};

export function ProblemNotice({ error, hint }: { error: ApiError | undefined; hint?: string | undefined }) {
  if (!error) return null;
  const headline = headlines[error.problem] ?? 'The controller refused the request';
  return (
    <div class="notice notice-error" role="alert" data-problem={error.problem}>
      <strong>{headline}</strong>
      {error.detail && error.detail !== headline ? <div class="notice-detail">{error.detail}</div> : null}
      {hint ? <div class="notice-hint">{hint}</div> : null}
    </div>
  );
}
