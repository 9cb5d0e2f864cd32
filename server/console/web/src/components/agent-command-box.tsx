import { agentCommand, type AgentSetup } from '../agent-command.js';
import { useQuery } from '../hooks.js';
import { CopyButton } from './bits.js';

/** The command that starts an agent enrolling with `code`, ready to copy. */
export function AgentCommandBox({ code }: { code: string }) {
  const setup = useQuery<AgentSetup>('agent-setup', (api, signal) => api.get<AgentSetup>('/agent-setup', signal));
  const command = agentCommand(setup.data, code, window.location);
  return (
    <div class="snippet-box">
      <pre class="snippet" data-agent-command data-ready={setup.data ? 'true' : 'false'}>
        {command}
      </pre>
      <CopyButton text={command} label="Copy command" />
    </div>
  );
}
