import { z } from 'zod';
import { TRIAL_ALLOWANCE } from '../../shared/protocol/limits.js';
import type { RouteRegistry } from '../http/route-registry.js';

/** Where a new agent should connect; the console builds its copyable command from this. */
export interface AgentSetup {
  /** The controller's public URL when configured; otherwise the console uses the address it was loaded from. */
  readonly controllerUrl: string | null;
  /** The broker agents use (the controller's own, or the external one it is connected to). */
  readonly mqttUrl: string | null;
}

const agentSetupView = z.object({
  controllerUrl: z.string().nullable(),
  mqttUrl: z.string().nullable(),
  trial: z.object({ tags: z.int(), connections: z.int() }),
});

export function registerAgentSetupRoutes(routes: RouteRegistry, setup: () => AgentSetup): void {
  routes.add({
    method: 'get',
    path: '/api/v1/agent-setup',
    summary: 'The controller and broker URLs a new agent is started with, and the trial allowance it has without points',
    tag: 'meta',
    auth: { role: 'viewer' },
    responses: { 200: { description: 'Agent connection settings', schema: agentSetupView } },
    handler: async () => {
      const s = setup();
      const trial = { tags: TRIAL_ALLOWANCE.tags, connections: TRIAL_ALLOWANCE.connections };
      return { body: { controllerUrl: s.controllerUrl, mqttUrl: s.mqttUrl === null ? null : withoutCredentials(s.mqttUrl), trial } };
    },
  });
}

/** A broker URL may carry the controller's own user and password; agents use their own. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
