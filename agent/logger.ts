import pino, { type Logger } from 'pino';
import type { AgentConfig } from './config.js';

export type { Logger };

/** JSON logs, or readable lines when stdout is a terminal (LOG_FORMAT=auto). Secrets are redacted. */
export function createLogger(log: AgentConfig['log'], name = 'floatlease-agent'): Logger {
  const pretty = log.format === 'pretty' || (log.format === 'auto' && process.stdout.isTTY === true);
  return pino({
    name,
    level: log.level,
    redact: { paths: ['*.password', '*.secret', '*.credential', '*.authorization', '*.activationCode'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
