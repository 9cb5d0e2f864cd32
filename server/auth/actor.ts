import type { Role } from '../../shared/protocol/rest.js';

/** Who made a request. Services receive it to authorise and to write the audit trail. */
export type Actor =
  | { readonly kind: 'user'; readonly id: string; readonly name: string; readonly role: Role; readonly via: 'token' | 'oidc' }
  | { readonly kind: 'gateway'; readonly gatewayId: string; readonly poolId: string }
  | { readonly kind: 'system'; readonly name: string }
  | { readonly kind: 'anonymous' };

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function hasRole(actor: Actor, needed: Role): boolean {
  return actor.kind === 'user' && rank[actor.role] >= rank[needed];
}

/** The audit trail's actor string: stable and free of secrets. */
export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'user':
      return `${actor.via}:${actor.name}`;
    case 'gateway':
      return `gateway:${actor.gatewayId}`;
    case 'system':
      return `system:${actor.name}`;
    case 'anonymous':
      return 'anonymous';
  }
}

export const systemActor = (name: string): Actor => ({ kind: 'system', name });
