import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'moa' },
    // Credentials never reach the logs, whichever object carries them.
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.key', '*.secret'],
      censor: '[redacted]',
    },
  });
}
