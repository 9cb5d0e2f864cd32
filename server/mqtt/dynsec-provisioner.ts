import crypto from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { agentClientId, gatewayAcl, MQTT_ROOT } from '../../shared/protocol/mqtt-topics.js';
import type { Logger } from '../logger.js';

const CONTROL = '$CONTROL/dynamic-security/v1';
const RESPONSE = `${CONTROL}/response`;

type Command = Record<string, unknown> & { command: string };
interface Response {
  command: string;
  error?: string;
  data?: unknown;
  correlationData?: string;
}

/** Where gateway credentials must also live for agents to authenticate to the broker. */
export interface CredentialSink {
  issued(gatewayId: string, credential: string): Promise<void>;
  revoked(gatewayId: string): Promise<void>;
}

export const noCredentialSink: CredentialSink = { issued: async () => {}, revoked: async () => {} };

/**
 * Drives Mosquitto's dynamic-security plugin: the controller (a dynsec admin) creates one client
 * per gateway (username = gateway id, password = its credential) with a role that allows only that
 * gateway's subtree, replaces it on re-enrollment and deletes it on decommissioning.
 */
export class DynsecProvisioner implements CredentialSink {
  private readonly waiting = new Map<string, (r: Response[]) => void>();

  constructor(
    private readonly client: MqttClient,
    private readonly controllerUser: string,
    private readonly logger: Logger,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Subscribes to responses and makes sure the controller's own client may publish leases. */
  async start(): Promise<void> {
    this.client.on('message', (topic, payload) => {
      if (topic !== RESPONSE) return;
      try {
        const { responses } = JSON.parse(payload.toString('utf8')) as { responses?: Response[] };
        const id = responses?.find((r) => r.correlationData)?.correlationData;
        if (id) this.waiting.get(id)?.(responses ?? []);
      } catch (err) {
        this.logger.warn({ err }, 'malformed dynamic-security response');
      }
    });
    const subscribe = () => void this.client.subscribe(RESPONSE, { qos: 1 });
    this.client.on('connect', subscribe);
    await this.client.subscribeAsync(RESPONSE, { qos: 1 });
    const role = await this.controllerRole();
    if (await this.roleAllowsLeases(role)) return;
    // Changing a role makes Mosquitto disconnect its clients (this one too) before it answers, so
    // the change is sent without waiting, then checked after the automatic reconnect.
    this.logger.info({ role }, 'granting the controller publish rights under the floatlease topic tree');
    const reconnected = new Promise<void>((resolve) => this.client.once('connect', () => resolve()));
    await this.client.publishAsync(
      CONTROL,
      JSON.stringify({
        commands: [
          { command: 'addRoleACL', rolename: role, acltype: 'publishClientSend', topic: `${MQTT_ROOT}/#`, allow: true },
          { command: 'addRoleACL', rolename: role, acltype: 'subscribePattern', topic: `${MQTT_ROOT}/#`, allow: true },
        ],
      }),
      { qos: 0 },
    );
    await Promise.race([reconnected, new Promise((r) => setTimeout(r, this.timeoutMs))]);
    await this.client.subscribeAsync(RESPONSE, { qos: 1 });
    if (!(await this.roleAllowsLeases(role))) throw new Error(`dynamic-security: could not grant role ${role} the floatlease topics`);
  }

  private async controllerRole(): Promise<string> {
    const [info] = await this.run([{ command: 'getClient', username: this.controllerUser }]);
    const roles = (info?.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client?.roles ?? [];
    const role = roles[0]?.rolename;
    if (!role) throw new Error(`dynamic-security: client ${this.controllerUser} has no role to extend`);
    return role;
  }

  private async roleAllowsLeases(role: string): Promise<boolean> {
    const [info] = await this.run([{ command: 'getRole', rolename: role }]);
    const acls = (info?.data as { role?: { acls?: { acltype: string; topic: string; allow: boolean }[] } } | undefined)?.role?.acls ?? [];
    return acls.some((a) => a.acltype === 'publishClientSend' && a.topic === `${MQTT_ROOT}/#` && a.allow);
  }

  async issued(gatewayId: string, credential: string): Promise<void> {
    const role = `gw-${gatewayId}`;
    const acl = gatewayAcl(gatewayId);
    await this.run([
      { command: 'deleteClient', username: gatewayId },
      { command: 'createRole', rolename: role },
      ...acl.publish.map((topic) => ({ command: 'addRoleACL', rolename: role, acltype: 'publishClientSend', topic, allow: true })),
      ...acl.subscribe.map((topic) => ({ command: 'addRoleACL', rolename: role, acltype: 'subscribePattern', topic, allow: true })),
      // Bound to the agent's client id: another login cannot use it, this one cannot use another.
      { command: 'createClient', username: gatewayId, password: credential, clientid: agentClientId(gatewayId), roles: [{ rolename: role }] },
    ]);
  }

  async revoked(gatewayId: string): Promise<void> {
    await this.run([
      { command: 'deleteClient', username: gatewayId },
      { command: 'deleteRole', rolename: `gw-${gatewayId}` },
    ]);
  }

  /** Sends one batch and waits for its response; "already exists"/"not found" answers are expected. */
  private async run(commands: Command[]): Promise<Response[]> {
    const id = crypto.randomUUID();
    const tagged = commands.map((c) => ({ ...c, correlationData: id }));
    const done = new Promise<Response[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error('the broker did not answer the dynamic-security command'));
      }, this.timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(r);
      });
    });
    await this.client.publishAsync(CONTROL, JSON.stringify({ commands: tagged }), { qos: 1 });
    const responses = await done;
    const failed = responses.filter((r) => r.error && !/exist|not found/i.test(r.error));
    if (failed.length) throw new Error(`dynamic-security: ${failed.map((f) => `${f.command}: ${f.error}`).join('; ')}`);
    return responses;
  }
}
