import type { UpstreamKind } from './agent-messages.js';
import { upstreamKinds } from './agent-messages.js';
import { UUID_PATTERN } from './uuid.js';

/**
 * The MQTT topic tree, versioned so a later protocol can live beside this one:
 *   floatlease/v1/gw/{gatewayId}/lease       controller → agent, retained, QoS 1
 *   floatlease/v1/gw/{gatewayId}/down/error  controller → agent, QoS 1
 *   floatlease/v1/gw/{gatewayId}/down/hello  controller → agent, QoS 1: say hello again (a controller's start)
 *   floatlease/v1/gw/{gatewayId}/up/{kind}   agent → controller, QoS 1 (hello, renew, ack, usage, release)
 *   floatlease/v1/gw/{gatewayId}/presence    agent (and its last will), retained
 * An agent, authenticated as its gateway id, may touch only its own subtree.
 */
export const MQTT_ROOT = 'floatlease/v1/gw';
const SHARED_GROUP = 'floatlease';

export const topics = {
  lease: (gatewayId: string) => `${MQTT_ROOT}/${gatewayId}/lease`,
  error: (gatewayId: string) => `${MQTT_ROOT}/${gatewayId}/down/error`,
  /** The hello round at a controller's start (external broker): the agent answers with a hello. */
  helloRequest: (gatewayId: string) => `${MQTT_ROOT}/${gatewayId}/down/hello`,
  up: (gatewayId: string, kind: UpstreamKind) => `${MQTT_ROOT}/${gatewayId}/up/${kind}`,
  presence: (gatewayId: string) => `${MQTT_ROOT}/${gatewayId}/presence`,
  /** What the controller subscribes to (optionally as a shared subscription). */
  allUp: `${MQTT_ROOT}/+/up/+`,
  allPresence: `${MQTT_ROOT}/+/presence`,
} as const;

export function shared(filter: string): string {
  return `$share/${SHARED_GROUP}/${filter}`;
}

const upRe = new RegExp(`^${MQTT_ROOT}/(${UUID_PATTERN})/up/([a-z]+)$`);
const presenceRe = new RegExp(`^${MQTT_ROOT}/(${UUID_PATTERN})/presence$`);

export type ParsedTopic =
  | { kind: 'up'; gatewayId: string; message: UpstreamKind }
  | { kind: 'presence'; gatewayId: string };

export function parseTopic(topic: string): ParsedTopic | undefined {
  const up = upRe.exec(topic);
  if (up && (upstreamKinds as readonly string[]).includes(up[2]!)) {
    return { kind: 'up', gatewayId: up[1]!, message: up[2] as UpstreamKind };
  }
  const p = presenceRe.exec(topic);
  return p ? { kind: 'presence', gatewayId: p[1]! } : undefined;
}

/** MQTT wildcard matching, for the embedded broker's ACL. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The topic filters a gateway may publish and subscribe to: its own subtree, nothing else. */
export function gatewayAcl(gatewayId: string): { publish: string[]; subscribe: string[] } {
  const base = `${MQTT_ROOT}/${gatewayId}`;
  return { publish: [`${base}/up/+`, `${base}/presence`], subscribe: [`${base}/lease`, `${base}/down/+`] };
}

/**
 * The only MQTT client id a gateway may connect with. Brokers refuse any other id for the
 * gateway's login, so no gateway can take over (and fire the last will of) another's session.
 */
export function agentClientId(gatewayId: string): string {
  return `agent-${gatewayId}`;
}
