import { Command } from 'commander';
import { registerAuditCommand } from './commands/audit.js';
import { registerCodeCommands } from './commands/codes.js';
import { registerElasticCommands } from './commands/elastic.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerGatewayCommands } from './commands/gateways.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerPoolCommands } from './commands/pools.js';
import { registerTokenCommands } from './commands/tokens.js';
import { registerVendorCommands } from './commands/vendor.js';
import { contextFactory, DEFAULT_URL, type Env, type Io } from './context.js';
import { EXIT_CODES_HELP } from './errors.js';

const CLI_VERSION = '0.1.0';

const ENV_HELP = `Environment:
  FLOATLEASE_URL    controller URL (default ${DEFAULT_URL}); --url wins
  FLOATLEASE_TOKEN  API token (prefer this to --token, which other users can see in ps)

Pools and gateways may be given by id or by name.`;

/** The whole command tree; output goes to `io`, and commander's errors too (main turns them into exit codes). */
export function buildProgram(env: Env, io: Io): Command {
  const program = new Command('floatlease')
    .description('Administer a floatlease controller (pools, licenses, activation codes, gateways, audit, tokens) and act as a license vendor.')
    .version(CLI_VERSION, '-V, --version')
    .option('--url <url>', `controller URL (env FLOATLEASE_URL, default ${DEFAULT_URL})`)
    .option('--token <token>', 'API token (env FLOATLEASE_TOKEN)')
    .option('--json', 'machine output: the API JSON on stdout (and the problem object on errors)')
    .addHelpText('after', `\n${ENV_HELP}\n\n${EXIT_CODES_HELP}\n`)
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`floatlease: ${s.trim().replace(/^error: /, '')} (see --help)\n`),
    });
  const ctxOf = contextFactory(env, io);
  registerPoolCommands(program, ctxOf);
  registerCodeCommands(program, ctxOf);
  registerGatewayCommands(program, ctxOf);
  registerElasticCommands(program, ctxOf);
  registerSimulateCommand(program, ctxOf);
  registerAuditCommand(program, ctxOf);
  registerTokenCommands(program, ctxOf);
  registerKeyCommands(program, ctxOf);
  registerVendorCommands(program, ctxOf);
  return program;
}
