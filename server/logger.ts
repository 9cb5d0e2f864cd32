import type { Logger } from 'pino';
import { createPinoLogger } from '../shared/pino-logger.js';
import type { Config } from './config.js';

export type { Logger };

/** JSON logs, or readable lines when stdout is a terminal (LOG_FORMAT=auto). */
export function createLogger(log: Config['log'], name = 'floatlease'): Logger {
  return createPinoLogger(name, log, ['*.password', '*.token', '*.secret', '*.credential', '*.authorization']);
}
