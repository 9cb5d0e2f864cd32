import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';

/** The longest lead before a borrow's end at which the agent asks for an ordinary lease again. */
const RETURN_LEAD_MAX_MS = 5 * 60_000;

/**
 * How long before a borrow's end the agent starts asking for an ordinary lease (a third of the borrow,
 * at most 5 min). Before that a borrow needs nothing from the controller (issue 21): no renewal is
 * due, a missed one is no loss, and there is no disconnect grace; at the end, a connected agent
 * carries on under an ordinary lease, a disconnected one falls to the trial allowance at exp.
 */
export function borrowLeadMs(ttlSec: number): number {
  return Math.min((ttlSec * 1000) / 3, RETURN_LEAD_MAX_MS);
}

/**
 * Where a lease came from, when the agent asked for it to replace what it holds: the early return,
 * a borrow, an offline license file loaded at the device. Every other source (hello, renewal, push,
 * the broker's retained copy) is the controller's ordinary flow.
 */
const REPLACES_A_BORROW: ReadonlySet<string> = new Set(['return', 'borrow', 'file']);

/**
 * Whether an incoming lease must leave the held borrow in place (pure). An ordinary lease the
 * agent acknowledges supersedes the borrow at the controller, and a lease of an on-disconnect pool
 * carries a grace: taking the one a hello or push brings on a short reconnect would end the borrow
 * without anyone asking, and the next disconnect would cut the gateway off. So until the borrow's
 * last stretch (`due`), only the leases the agent asked to replace it do.
 * Not taking a lease is safe for the invariant: the borrow stays live at the controller, and its
 * points held, until it expires or the agent acknowledges a later lease.
 */
export function keepsBorrow(held: Pick<LeaseClaims, 'borrow'> | undefined, due: boolean, incoming: Pick<LeaseClaims, 'borrow'>, source: string): boolean {
  return held?.borrow === true && !due && incoming.borrow !== true && !REPLACES_A_BORROW.has(source);
}
