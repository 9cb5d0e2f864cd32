import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** JSON logs, or readable lines when stdout is a terminal (LOG_FORMAT=auto). */
export function createLogger(log: Config['log'], name = 'floatlease'): Logger {
  const pretty = log.format === 'pretty' || (log.format === 'auto' && process.stdout.isTTY === true);
  return pino({
    name,
    level: log.level,
    redact: { paths: ['*.password', '*.token', '*.secret', '*.credential', '*.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
