import { z } from 'zod';
import type { RouteRegistry } from '../http/route-registry.js';

/** Where a new agent should connect; the console builds its copyable command from this. */
export interface AgentSetup {
  /** The controller's public URL when configured; otherwise the console uses the address it was loaded from. */
  readonly controllerUrl: string | null;
  /** The broker agents use (the controller's own, or the external one it is connected to). */
  readonly mqttUrl: string | null;
}

export const agentSetupView = z.object({ controllerUrl: z.string().nullable(), mqttUrl: z.string().nullable() });

export function registerAgentSetupRoutes(routes: RouteRegistry, setup: () => AgentSetup): void {
  routes.add({
    method: 'get',
    path: '/api/v1/agent-setup',
    summary: 'The controller and broker URLs a new agent is started with',
    tag: 'meta',
    auth: { role: 'viewer' },
    responses: { 200: { description: 'Agent connection settings', schema: agentSetupView } },
    handler: async () => {
      const s = setup();
      return { body: { controllerUrl: s.controllerUrl, mqttUrl: s.mqttUrl === null ? null : withoutCredentials(s.mqttUrl) } };
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
