import type { ChildProcess } from 'node:child_process';
import { captureOutput, spawnTs, waitExit } from './controller-process.js';
import { waitFor } from './ports.js';

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  /** Resolves with the "agent ready" line's fields. */
  ready(timeoutMs?: number): Promise<{ gatewayId: string; localUrl: string }>;
  license(): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `agent/main.ts` (as `npm run agent` does) with JSON logs on a free local port. */
export function spawnAgent(env: Record<string, string>): AgentProcess {
  const child = spawnTs('agent/main.ts', { FLOATLEASE_HTTP_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env });
  const { logs, stderr } = captureOutput(child);
  let localUrl: string | undefined;
  const agent: AgentProcess = {
    child,
    logs,
    stderr,
    async ready(timeoutMs = 20_000) {
      const line = await waitFor(
        'agent ready',
        () => {
          if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${stderr()}`);
          return logs.find((l) => l.msg === 'agent ready');
        },
        { timeoutMs },
      );
      localUrl = String(line.localUrl);
      return { gatewayId: String(line.gatewayId), localUrl };
    },
    async license() {
      if (!localUrl) throw new Error('agent not ready');
      try {
        return (await (await fetch(`${localUrl}/api/license`)).json()) as Record<string, unknown>;
      } catch (err) {
        // Unreachable: say whether the agent died, and how, rather than only "fetch failed".
        if (child.exitCode === null && child.signalCode === null) throw err;
        const last = logs.slice(-5).map((l) => JSON.stringify(l)).join(' | ');
        throw new Error(`agent exited (${child.exitCode ?? child.signalCode}); stderr: ${stderr().slice(-1500)}; last logs: ${last}`, { cause: err });
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return waitExit(child);
    },
  };
  return agent;
}
