import type { Logger } from 'pino';
import { createPinoLogger } from '../shared/pino-logger.js';
import type { AgentConfig } from './config.js';

export type { Logger };

/** JSON logs, or readable lines when stdout is a terminal (LOG_FORMAT=auto). Secrets are redacted. */
export function createLogger(log: AgentConfig['log'], name = 'floatlease-agent'): Logger {
  return createPinoLogger(name, log, ['*.password', '*.secret', '*.credential', '*.authorization', '*.activationCode']);
}
