import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import type { EnrollResponse } from '../../shared/protocol/rest.js';
import type { Logger } from '../logger.js';
import { sleep } from '../util/timers.js';
import { AGENT_VERSION } from '../version.js';
import { ControllerHttpError, type ControllerClient } from './controller-api.js';

export interface EnrollOptions {
  readonly controller: Pick<ControllerClient, 'enroll'>;
  readonly activationCode: string;
  readonly hardwareId: string;
  readonly gatewayName: string | undefined;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly random?: () => number;
}

export type EnrollResult =
  | { readonly ok: true; readonly response: EnrollResponse }
  | { readonly ok: false; readonly refused: ControllerHttpError }
  | { readonly ok: false; readonly refused: undefined };

/**
 * Enrolls with the activation code, retrying with capped, jittered backoff while the controller is
 * unreachable or busy. A refusal (bad, revoked, expired or used-up code) is final: a human must act.
 * `refused: undefined` means it was aborted (the agent is stopping).
 */
export async function enroll(o: EnrollOptions): Promise<EnrollResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await o.controller.enroll({
        activationCode: o.activationCode,
        hardwareId: o.hardwareId,
        agentVersion: AGENT_VERSION,
        ...(o.gatewayName ? { name: o.gatewayName } : {}),
      });
      return { ok: true, response };
    } catch (err) {
      if (err instanceof ControllerHttpError && !err.retryable) return { ok: false, refused: err };
      const retryInMs = backoffDelayMs(attempt, o.backoff, o.random);
      // Loud once, then quiet: a controller that is down for an hour should not fill the log.
      o.logger[attempt % 20 === 0 ? 'warn' : 'debug']({ err, attempt: attempt + 1, retryInMs }, 'cannot enroll yet; retrying');
      if (!(await sleep(retryInMs, o.signal))) return { ok: false, refused: undefined };
    }
  }
}
