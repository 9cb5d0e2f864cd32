import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { gatewayAcl, topicMatches } from '../../shared/protocol/mqtt-topics.js';
import { isUuid } from '../../shared/protocol/uuid.js';
import type { GatewayAuthenticator } from '../auth/gateway-authenticator.js';

/*
 * EMQX 5 HTTP authentication and authorization, in the formats EMQX documents:
 * - Authentication ("Use HTTP Service", https://docs.emqx.com/en/emqx/latest/access-control/authn/http.html):
 *   EMQX POSTs a JSON body built from a template (we document {"clientid": "${clientid}",
 *   "username": "${username}", "password": "${password}"}); the service answers 200 with
 *   content-type application/json and {"result": "allow" | "deny" | "ignore", "is_superuser": bool}.
 *   A 4xx/5xx makes EMQX ignore the body and treat the result as "ignore".
 * - Authorization (https://docs.emqx.com/en/emqx/latest/access-control/authz/http.html): a template
 *   with ${clientid}, ${username}, ${action} (publish | subscribe), ${topic}, ${qos}, ${retain};
 *   the answer is 200 with {"result": "allow" | "deny" | "ignore"} (204 also means allow).
 * Placeholders are substituted as strings, so qos and retain arrive as strings or are absent.
 */

export const emqxAuthnRequest = z.object({
  clientid: z.string().max(256).optional(),
  username: z.string().max(256).optional(),
  password: z.string().max(1024).optional(),
});
export const emqxAuthzRequest = z.object({
  clientid: z.string().max(256).optional(),
  username: z.string().max(256).optional(),
  action: z.enum(['publish', 'subscribe', 'all']),
  topic: z.string().min(1).max(1024),
  qos: z.union([z.string(), z.number()]).optional(),
  retain: z.union([z.string(), z.boolean()]).optional(),
});

export type EmqxResult = 'allow' | 'deny' | 'ignore';
export interface EmqxAuthnResponse {
  readonly result: EmqxResult;
  readonly is_superuser: boolean;
}

/** The controller's own broker account (MQTT_USERNAME/MQTT_PASSWORD): subscribes to every gateway's topics. */
export interface ControllerAccount {
  readonly username: string;
  readonly password: string;
}

/**
 * Who may connect and what each may do, the same rules as the embedded broker (gateway-authorizer.ts)
 * and Mosquitto's dynamic security (dynsec-provisioner.ts): an agent logs in as its gateway
 * (username = gateway id, password = credential) and uses its own subtree only.
 */
export class EmqxDecisions {
  constructor(
    private readonly gateways: GatewayAuthenticator,
    private readonly controller: ControllerAccount | undefined,
  ) {}

  async authenticate(req: z.infer<typeof emqxAuthnRequest>): Promise<EmqxAuthnResponse> {
    const { username, password } = req;
    if (!username || !password) return { result: 'deny', is_superuser: false };
    if (this.controller && username === this.controller.username) {
      return { result: sameSecret(password, this.controller.password) ? 'allow' : 'deny', is_superuser: false };
    }
    // Not a gateway's name: another authenticator in EMQX's chain may know it.
    if (!isUuid(username)) return { result: 'ignore', is_superuser: false };
    const actor = await this.gateways.authenticate(password);
    return { result: actor?.gatewayId === username ? 'allow' : 'deny', is_superuser: false };
  }

  authorize(req: z.infer<typeof emqxAuthzRequest>): { result: EmqxResult } {
    const { username, topic, action } = req;
    if (!username) return { result: 'deny' };
    if (this.controller && username === this.controller.username) return { result: 'allow' };
    if (!isUuid(username)) return { result: 'ignore' };
    const acl = gatewayAcl(username);
    const allowed = (filters: readonly string[]) => filters.some((f) => topicMatches(f, topic));
    const ok = action === 'publish' ? allowed(acl.publish) : action === 'subscribe' ? allowed(acl.subscribe) : allowed(acl.publish) && allowed(acl.subscribe);
    return { result: ok ? 'allow' : 'deny' };
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
