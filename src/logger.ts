import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

// Anything that could carry a credential is redacted wherever it appears in a log line.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'token',
  'password',
  'secret',
  '*.token',
  '*.password',
  '*.secret',
  'databaseUrl',
];

export function createLogger(config: Pick<Config, 'logLevel'>, name = 'funnelgate'): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
