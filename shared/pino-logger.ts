import pino, { type Logger } from 'pino';

export interface LogSettings {
  readonly level: string;
  /** LOG_FORMAT: `auto` writes readable lines when stdout is a terminal, JSON otherwise. */
  readonly format: 'auto' | 'json' | 'pretty';
}

/** The one log setup of the controller and the agent: JSON or readable lines, the given paths redacted. */
export function createPinoLogger(name: string, log: LogSettings, redact: readonly string[]): Logger {
  const pretty = log.format === 'pretty' || (log.format === 'auto' && process.stdout.isTTY === true);
  return pino({
    name,
    level: log.level,
    redact: { paths: [...redact], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
