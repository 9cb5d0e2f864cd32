import { agentClientId, gatewayAcl, topicMatches } from '../../shared/protocol/mqtt-topics.js';
import type { GatewayAuthenticator } from '../auth/gateway-authenticator.js';
import type { BrokerAuthorizer } from './embedded-broker.js';

/**
 * The embedded broker's rules: an agent authenticates as its gateway (username = gateway id,
 * password = credential) and may publish and subscribe only under its own subtree. The controller
 * itself is not a network client of this broker (see broker-link.ts), so no other login exists.
 */
export function gatewayAuthorizer(gateways: GatewayAuthenticator): BrokerAuthorizer {
  return {
    async authenticate(username, password) {
      if (!username || !password) return null;
      const actor = await gateways.authenticate(password);
      return actor && actor.gatewayId === username ? { kind: 'gateway', gatewayId: actor.gatewayId } : null;
    },
    clientIdAllowed(p, clientId) {
      return p.kind !== 'gateway' || clientId === agentClientId(p.gatewayId);
    },
    canPublish(p, topic) {
      return p.kind === 'gateway' && gatewayAcl(p.gatewayId).publish.some((f) => topicMatches(f, topic));
    },
    canSubscribe(p, filter) {
      // The allowed filters name the gateway literally, so a wildcard over other gateways never matches.
      return p.kind === 'gateway' && gatewayAcl(p.gatewayId).subscribe.some((f) => topicMatches(f, filter));
    },
  };
}
