import { borrowBody } from '../../shared/protocol/elastic.js';
import { describeIssue } from '../../shared/zod-issues.js';
import { AgentConfigError, HelpShown, loadAgentConfig, type AgentConfig } from '../config.js';
import { storedLocalToken } from './activation-routes.js';
import { localBorrowAnswer, localBorrowRefusal } from './borrow-routes.js';

export const BORROW_COMMANDS = ['borrow', 'return'] as const;
type BorrowCommand = (typeof BORROW_COMMANDS)[number];

const UNITS: Record<string, number> = { '--hours': 3600, '--minutes': 60, '--seconds': 1 };

const USAGE = `usage: npm run agent -- borrow (--hours H | --minutes M | --seconds S) [agent flags]
       npm run agent -- return [agent flags]
Asks the running agent (its local API: FLOATLEASE_HTTP_HOST/FLOATLEASE_HTTP_PORT, token FLOATLEASE_LOCAL_TOKEN
or the state folder's local-token) to borrow its points for a planned disconnect, or to return the borrow early.
`;

/** The duration flags of `borrow`; every other argument is an agent flag (--http-port, --state-dir, …). */
function splitArgs(argv: readonly string[]): { seconds: number | undefined; rest: string[]; error?: string } {
  const rest: string[] = [];
  let seconds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const unit = UNITS[flag];
    if (unit === undefined) {
      rest.push(argv[i]!);
      continue;
    }
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n <= 0) return { seconds, rest, error: `${flag} expects a positive number` };
    seconds = (seconds ?? 0) + Math.round(n * unit);
  }
  return { seconds, rest };
}

/**
 * `npm run agent -- borrow --hours 8` and `npm run agent -- return`: a client of the running agent's
 * local API, configured by the same variables and flags as the agent. Returns the exit code (0 done,
 * 1 refused or unreachable, 2 bad usage).
 */
export async function runBorrowCommand(command: BorrowCommand, argv: readonly string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  const say = (code: number, line: string) => {
    out(line);
    return code;
  };
  const { seconds, rest, error } = splitArgs(argv);
  if (error) return say(2, `floatlease-agent ${command}: ${error}\n${USAGE}`);
  let config: AgentConfig;
  try {
    config = loadAgentConfig(rest, env);
  } catch (err) {
    if (err instanceof HelpShown) return say(0, USAGE);
    if (err instanceof AgentConfigError) return say(2, `floatlease-agent ${command}: ${err.message}`);
    throw err;
  }
  let body: { durationSec: number } | undefined;
  if (command === 'borrow') {
    const parsed = borrowBody.safeParse({ durationSec: seconds });
    if (!parsed.success) return say(2, `floatlease-agent borrow: ${seconds === undefined ? 'say how long: --hours, --minutes or --seconds' : describeIssue(parsed.error.issues[0])}\n${USAGE}`);
    body = parsed.data;
  }
  const token = config.localToken ?? (await storedLocalToken(config.stateDir));
  if (!token) return say(2, `floatlease-agent ${command}: no local admin token: set FLOATLEASE_LOCAL_TOKEN or --state-dir to the agent's state folder`);
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host}:${config.http.port}/api/license/borrow${command === 'return' ? '/return' : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    return say(1, `floatlease-agent ${command}: the agent at ${url} did not answer: ${(err as Error).message}`);
  }
  const json: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const refusal = localBorrowRefusal.safeParse(json);
    return say(1, `floatlease-agent ${command}: refused (${res.status}${refusal.success ? ` ${refusal.data.error}): ${refusal.data.detail}` : ')'}`);
  }
  const parsed = localBorrowAnswer.safeParse(json);
  if (!parsed.success) return say(1, `floatlease-agent ${command}: the agent at ${url} answered something else: ${describeIssue(parsed.error.issues[0])}`);
  const answer = parsed.data;
  const points = `${answer.points.tags} tags, ${answer.points.connections} connections`;
  out(
    command === 'borrow'
      ? `borrowed ${points} until ${answer.expiresAtDate} UTC: the gateway keeps them without the controller until then`
      : `returned the borrow: now an ordinary lease of ${points} until ${answer.expiresAtDate} UTC${answer.acknowledged ? '; the controller freed the borrow' : '; the controller frees the borrow at the next acknowledgement'}`,
  );
  return 0;
}
