import { gatewayAcl, topicMatches } from '../../shared/protocol/mqtt-topics.js';
import { authenticateGateway } from '../auth/actor-resolver.js';
import type { Db } from '../db/database.js';
import type { BrokerAuthorizer } from './embedded-broker.js';

export const CONTROLLER_MQTT_USER = 'floatlease-controller';

/**
 * The embedded broker's rules: the controller (a per-process secret) may do anything; an agent
 * authenticates as its gateway (username = gateway id, password = credential) and may publish and
 * subscribe only under its own subtree.
 */
export function gatewayAuthorizer(db: Db, controllerSecret: string): BrokerAuthorizer {
  return {
    async authenticate(username, password) {
      if (username === CONTROLLER_MQTT_USER) return password === controllerSecret ? { kind: 'controller' } : null;
      if (!username || !password) return null;
      const actor = await authenticateGateway(db, password);
      return actor?.kind === 'gateway' && actor.gatewayId === username ? { kind: 'gateway', gatewayId: actor.gatewayId } : null;
    },
    canPublish(p, topic) {
      if (p.kind === 'controller') return true;
      return gatewayAcl(p.gatewayId).publish.some((f) => topicMatches(f, topic));
    },
    canSubscribe(p, filter) {
      if (p.kind === 'controller') return true;
      // The allowed filters name the gateway literally, so a wildcard over other gateways never matches.
      return gatewayAcl(p.gatewayId).subscribe.some((f) => topicMatches(f, filter));
    },
  };
}
