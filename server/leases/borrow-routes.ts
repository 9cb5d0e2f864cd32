import { borrowBody } from '../../shared/protocol/elastic.js';
import { leaseGrant } from '../../shared/protocol/rest.js';
import type { Actor } from '../auth/actor.js';
import { AppError } from '../errors/app-error.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { AgentHandler } from './agent-handler.js';

/**
 * Offline borrowing for agents (issue 21); the HTTP path, as the lease pull is, handed to the one
 * agent dispatcher. The agent asks from its local API or `npm run agent -- borrow --hours 8`.
 */
export function registerBorrowRoutes(routes: RouteRegistry, agents: Pick<AgentHandler, 'borrow' | 'returnBorrow'>): void {
  const tag = 'agent';
  const gatewayOf = (actor: Actor): string => {
    if (actor.kind !== 'gateway') throw new AppError('unauthorized', 'a gateway credential is required');
    return actor.gatewayId;
  };
  routes.add({
    method: 'post',
    path: '/api/v1/agent/borrow',
    summary:
      'Borrow the points the gateway holds for a planned disconnect of up to the pool\'s borrowMaxSec (lease marked borrow, no disconnect grace). ' +
      'Example: pool borrowMaxSec 86400, borrowMaxFraction 0.25, capacity 1000 tags; a gateway holding 100 borrows for 8 h: its lease lasts 8 h, ' +
      'the 100 stay held while it is away, at most 250 tags are borrowed pool-wide; 403 when off, 400 past the longest, 409 past a cap',
    tag,
    auth: 'gateway',
    body: borrowBody,
    responses: { 200: { description: 'The borrow lease (accept and acknowledge it like any lease)', schema: leaseGrant } },
    handler: async ({ actor, body }) => ({ body: await agents.borrow(gatewayOf(actor), body.durationSec) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/borrow/return',
    summary: 'Return a borrow early (on reconnect): a fresh ordinary lease; the borrow ends when the agent acknowledges it',
    tag,
    auth: 'gateway',
    responses: { 200: { description: 'An ordinary lease', schema: leaseGrant } },
    handler: async ({ actor }) => ({ body: await agents.returnBorrow(gatewayOf(actor)) }),
  });
}
