import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { ControllerHttpError, type ControllerClient } from '../controller/controller-api.js';
import type { Logger } from '../logger.js';
import type { AgentCredential } from '../state/file-state-store.js';
import type { Clock } from './clock.js';
import type { LeaseHolder } from './lease-holder.js';
import type { LeasePipeline } from './lease-pipeline.js';
import type { ReachabilityGrace } from './reachability-grace.js';

export type BorrowResult =
  | {
      readonly ok: true;
      readonly seq: number;
      /** The lease's end (epoch seconds): the borrow's, or the ordinary lease's after a return. */
      readonly expiresAt: number;
      readonly points: { readonly tags: number; readonly connections: number };
      readonly plugins: readonly string[];
      /** The lease now held is a borrow. */
      readonly borrowed: boolean;
      /** The controller confirmed the acknowledgement (for a return: the borrow's points are free). */
      readonly acknowledged: boolean;
    }
  | { readonly ok: false; readonly status: number; readonly reason: string; readonly detail: string };

interface BorrowingDeps {
  readonly controller: Pick<ControllerClient, 'borrow' | 'returnBorrow' | 'ack'>;
  readonly logger: Logger;
  readonly clock: Pick<Clock, 'monotonicMs'>;
  readonly grace: Pick<ReachabilityGrace, 'contact'>;
  /** The agent's current identity and pipeline (they change at activation and re-enrollment). */
  readonly session: () => { readonly credential: AgentCredential; readonly pipeline: LeasePipeline; readonly holder: LeaseHolder } | undefined;
  readonly stopping: () => boolean;
}

/**
 * The agent's half of offline borrowing (issue 21), asked at the device (local API, CLI, license
 * page): borrow the points held for a planned disconnect, and return the borrow early once back.
 * Both go over HTTP, the route whose answer is the controller's own: the person at the device is told
 * at once whether the controller granted the borrow, or why not (off, too long, a cap), before the
 * gateway leaves the network. The lease that comes back goes through the one pipeline like any other.
 */
export class Borrowing {
  constructor(private readonly d: BorrowingDeps) {}

  async borrow(durationSec: number): Promise<BorrowResult> {
    const s = this.d.session();
    if (this.d.stopping()) return refused(503, 'stopping', 'the agent is stopping');
    if (!s) return refused(409, 'not-enrolled', 'activate this gateway first');
    if (!s.holder.current()) return refused(409, 'no-lease', 'nothing to borrow: the agent holds no valid lease (it borrows the points of the lease it holds)');
    const result = await this.ask('borrow', s, () => this.d.controller.borrow(s.credential.secret, durationSec), 'borrow');
    if (result.ok) this.d.logger.info({ seq: result.seq, borrowedUntil: result.expiresAt, points: result.points }, 'borrowed the lease for a planned disconnect; the controller is not needed until it ends');
    return result;
  }

  async returnBorrow(): Promise<BorrowResult> {
    const s = this.d.session();
    if (this.d.stopping()) return refused(503, 'stopping', 'the agent is stopping');
    if (!s) return refused(409, 'not-enrolled', 'activate this gateway first');
    const held = s.holder.borrowed();
    if (!held) return refused(409, 'not-borrowing', 'the agent holds no borrow to return');
    const result = await this.ask('return', s, () => this.d.controller.returnBorrow(s.credential.secret), 'borrow return');
    if (result.ok) this.d.logger.info({ seq: result.seq, returnedSeq: held.claims.seq, acknowledged: result.acknowledged, points: result.points }, 'returned the borrow early');
    return result;
  }

  /** Asks over HTTP; the answer is a contact (on-disconnect pools) and its lease goes through the pipeline. */
  private async ask(source: 'borrow' | 'return', s: NonNullable<ReturnType<BorrowingDeps['session']>>, request: () => Promise<LeaseGrant>, what: string): Promise<BorrowResult> {
    const { controller, logger, clock, grace } = this.d;
    const sentAt = clock.monotonicMs();
    let grant: LeaseGrant;
    try {
      grant = await request();
    } catch (err) {
      if (err instanceof ControllerHttpError) {
        logger.warn({ status: err.status, problem: err.problem, detail: err.message }, `the controller refused the ${what}`);
        return refused(err.status, err.problem ?? 'refused', err.message);
      }
      logger.warn({ err }, `${what}: controller unreachable`);
      return refused(503, 'unreachable', `the controller is unreachable: ${(err as Error).message}`);
    }
    // Answered: a lease of an on-disconnect pool (after a return) is enforced from this contact on.
    grace.contact(sentAt);
    let acknowledged = false;
    const outcome = await s.pipeline.deliver(grant, source, async (jti) => {
      await controller.ack(s.credential.secret, jti);
      acknowledged = true;
    });
    if (!outcome.accepted) return refused(502, outcome.reason, `the controller's ${what} lease was refused: ${outcome.reason}`);
    const c = outcome.lease.claims;
    return { ok: true, seq: c.seq, expiresAt: c.exp, points: c.points, plugins: c.plugins, borrowed: c.borrow === true, acknowledged };
  }
}

function refused(status: number, reason: string, detail: string): BorrowResult {
  return { ok: false, status, reason, detail };
}
