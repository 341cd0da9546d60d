// The only module that reads the environment. Everything else receives a parsed `Config`.
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import envPaths from 'env-paths';
import YAML from 'yaml';
import { z } from 'zod';
import { AppError } from './errors.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanFromString = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const intFromString = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const configSchema = z.object({
  port: intFromString(0, 65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a PostgreSQL URL such as postgres://user:pass@host:5432/db')
    .optional(),
  dataDir: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  bootstrapToken: z
    .string()
    .min(32, 'must be at least 32 characters so it cannot be guessed')
    .regex(/^[A-Za-z0-9_\-.]+$/, 'may only contain letters, digits, "_", "-" and "."')
    .optional(),
  bodyLimitBytes: intFromString(1024, 512 * 1024 * 1024).default(1024 * 1024),
  batchBodyLimitBytes: intFromString(1024, 512 * 1024 * 1024).default(16 * 1024 * 1024),
  maxBatchEvents: intFromString(1, 100_000).default(1000),
  webhookToleranceSeconds: intFromString(1, 86_400).default(300),
  promotionMetric: z.enum(['roc_auc', 'pr_auc', 'brier', 'log_loss']).default('roc_auc'),
  promotionMinGain: z.coerce.number().min(0).max(1).default(0),
  executionConnector: z.string().regex(/^[a-z][a-z0-9_-]{0,49}$/).default('log'),
  databasePoolSize: intFromString(1, 200).default(10),
  workerConcurrency: intFromString(1, 100).default(4),
  shutdownTimeoutMs: intFromString(0, 10 * 60_000).default(30_000),
  demoData: booleanFromString.default(true),
  /** Extra connection string parameters are not needed for the embedded database; it always listens on loopback. */
  embeddedPostgresPort: intFromString(0, 65535).default(0),
  /** One NATS server URL, or several separated by commas (a cluster). */
  natsUrl: z
    .string()
    .regex(
      /^(nats|tls):\/\/[^,\s]+(\s*,\s*(nats|tls):\/\/[^,\s]+)*$/,
      'must be a NATS URL such as nats://127.0.0.1:4222 (several separated by commas)',
    )
    .default('nats://127.0.0.1:4222'),
});

export type Config = z.infer<typeof configSchema>;

/** Environment variable -> config key. The config file uses the keys on the right. */
const ENV_NAMES: Record<string, keyof Config> = {
  PORT: 'port',
  HOST: 'host',
  DATABASE_URL: 'databaseUrl',
  FUNNELGATE_DATA_DIR: 'dataDir',
  LOG_LEVEL: 'logLevel',
  FUNNELGATE_BOOTSTRAP_TOKEN: 'bootstrapToken',
  FUNNELGATE_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  FUNNELGATE_BATCH_BODY_LIMIT_BYTES: 'batchBodyLimitBytes',
  FUNNELGATE_MAX_BATCH_EVENTS: 'maxBatchEvents',
  FUNNELGATE_WEBHOOK_TOLERANCE_SECONDS: 'webhookToleranceSeconds',
  FUNNELGATE_PROMOTION_METRIC: 'promotionMetric',
  FUNNELGATE_PROMOTION_MIN_GAIN: 'promotionMinGain',
  FUNNELGATE_EXECUTION_CONNECTOR: 'executionConnector',
  DATABASE_POOL_SIZE: 'databasePoolSize',
  FUNNELGATE_WORKER_CONCURRENCY: 'workerConcurrency',
  FUNNELGATE_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  FUNNELGATE_DEMO_DATA: 'demoData',
  FUNNELGATE_EMBEDDED_PG_PORT: 'embeddedPostgresPort',
  NATS_URL: 'natsUrl',
};
const KEY_TO_ENV = Object.fromEntries(Object.entries(ENV_NAMES).map(([env, key]) => [key, env]));

/**
 * Root cannot run PostgreSQL, and the embedded server runs as the `postgres` user, which cannot enter /root.
 * So root gets the conventional system location instead of a home directory.
 */
export function defaultDataDir(): string {
  if (userInfo().uid === 0) return '/var/lib/funnelgate';
  const home = homedir();
  return home ? envPaths('funnelgate', { suffix: '' }).data : path.resolve('.data');
}

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** Defaults for this kind of process (e.g. quieter logs for CLI commands); env and file win over them. */
  defaults?: Partial<Record<keyof Config, unknown>>;
  /** Values from command-line flags; they win over the environment and the file. */
  overrides?: Partial<Record<keyof Config, unknown>>;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const fileValues = readConfigFile(env['FUNNELGATE_CONFIG']);
  const raw: Record<string, unknown> = { dataDir: defaultDataDir(), ...options.defaults, ...fileValues };
  for (const [envName, key] of Object.entries(ENV_NAMES)) {
    const value = env[envName];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const envName = KEY_TO_ENV[key];
      const where = envName ? `${envName} (config key "${key}")` : key || 'config';
      return { setting: where, problem: issue.message, value: redact(key, raw[key]) };
    });
    throw new AppError(
      'config_invalid',
      `Invalid configuration: ${problems.map((p) => `${p.setting} ${p.problem}`).join('; ')}`,
      { problems },
    );
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
}

function readConfigFile(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError(
      'config_invalid',
      `Cannot read the config file FUNNELGATE_CONFIG=${file}: ${String(error)}`,
    );
  }
  const value: unknown = YAML.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError(
      'config_invalid',
      `The config file ${file} must hold a mapping of settings, e.g. "port: 8080"`,
    );
  }
  const known = new Set(Object.values(ENV_NAMES));
  const unknown = Object.keys(value).filter((k) => !known.has(k as keyof Config));
  if (unknown.length > 0) {
    throw new AppError(
      'config_invalid',
      `The config file ${file} has unknown settings: ${unknown.join(', ')}. Known: ${[...known].join(', ')}`,
    );
  }
  return value as Record<string, unknown>;
}

function redact(key: string, value: unknown): unknown {
  if (key === 'bootstrapToken') return '[redacted]';
  if ((key === 'databaseUrl' || key === 'natsUrl') && typeof value === 'string')
    return value.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  return value;
}

/** For logs: the database URL without its password. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
}
