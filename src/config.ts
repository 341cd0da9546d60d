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
  maxBatchEvents: intFromString(1, 100_000).default(5000),
  webhookToleranceSeconds: intFromString(1, 86_400).default(300),
  promotionMetric: z.enum(['roc_auc', 'pr_auc', 'brier', 'log_loss']).default('roc_auc'),
  promotionMinGain: z.coerce.number().min(0).max(1).default(0),
  executionConnector: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,49}$/)
    .default('log'),
  executionMaxAttempts: intFromString(1, 100).default(8),
  executionVisibilityTimeoutSeconds: intFromString(1, 86_400).default(120),
  executionRequestTimeoutSeconds: intFromString(1, 3600).default(30),
  executionBackoffBaseMs: intFromString(1, 3_600_000).default(2000),
  executionBackoffCapMs: intFromString(1, 86_400_000).default(600_000),
  connectorBreakerThreshold: intFromString(1, 1000).default(5),
  connectorBreakerCooldownSeconds: intFromString(1, 86_400).default(60),
  outboundWebhookUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  outboundWebhookSecret: z
    .string()
    .regex(
      /^whsec_[A-Za-z0-9+/]{24,}={0,2}$/,
      'must be a Standard Webhooks secret: "whsec_" + base64 (>= 18 bytes)',
    )
    .optional(),
  hubspotUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://api.hubapi.com'),
  hubspotToken: z.string().min(1).optional(),
  salesforceUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://acme.my.salesforce.com' })
    .optional(),
  salesforceToken: z.string().min(1).optional(),
  /** The ingest source whose CRM ids (identity keys crm:<source>:<id>) the CRM connector writes back to. */
  crmSource: z.string().min(1).max(100).optional(),
  databasePoolSize: intFromString(1, 200).default(10),
  workerConcurrency: intFromString(1, 100).default(4),
  shutdownTimeoutMs: intFromString(0, 10 * 60_000).default(30_000),
  demoData: booleanFromString.default(true),
  /** Feedback: an outcome counts for a decision up to this many days after its execution (or decision). */
  attributionWindowDays: intFromString(1, 365).default(30),
  /** Drift thresholds: population stability index per feature and for the score. */
  driftPsiWarn: z.coerce.number().min(0).max(10).default(0.1),
  driftPsiAlarm: z.coerce.number().min(0).max(10).default(0.2),
  /** A distribution test (KS, chi-square) below this p-value is reported as significant. */
  driftPValue: z.coerce.number().min(0).max(1).default(0.001),
  /**
   * The recent window compared with the model's training window, and the least rows worth comparing: with 10
   * bins, PSI from sampling noise alone is about 9 x (1/n + 1/m), so small samples look drifted.
   */
  driftWindowDays: intFromString(1, 365).default(14),
  driftMinSamples: intFromString(10, 1_000_000).default(300),
  /** Expected calibration error of scores on labelled outcomes. */
  calibrationEceWarn: z.coerce.number().min(0).max(1).default(0.05),
  calibrationEceAlarm: z.coerce.number().min(0).max(1).default(0.1),
  /** How long the oldest contact with new events may wait for its features to be refreshed. */
  freshnessWarnSeconds: intFromString(1, 30 * 86_400).default(900),
  freshnessAlarmSeconds: intFromString(1, 30 * 86_400).default(3600),
  /** Share of outbox deliveries that ended dead over the last day. */
  connectorErrorRateWarn: z.coerce.number().min(0).max(1).default(0.05),
  connectorErrorRateAlarm: z.coerce.number().min(0).max(1).default(0.25),
  /** Jobs that failed for good (all attempts used) over the last day. */
  jobFailuresWarn: intFromString(1, 1_000_000).default(1),
  jobFailuresAlarm: intFromString(1, 1_000_000).default(20),
  /** An alarm at its alarm threshold opens the circuit breaker (everything goes to review). */
  alarmsTripBreaker: booleanFromString.default(true),
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
  FUNNELGATE_EXECUTION_MAX_ATTEMPTS: 'executionMaxAttempts',
  FUNNELGATE_EXECUTION_VISIBILITY_TIMEOUT_SECONDS: 'executionVisibilityTimeoutSeconds',
  FUNNELGATE_EXECUTION_REQUEST_TIMEOUT_SECONDS: 'executionRequestTimeoutSeconds',
  FUNNELGATE_EXECUTION_BACKOFF_BASE_MS: 'executionBackoffBaseMs',
  FUNNELGATE_EXECUTION_BACKOFF_CAP_MS: 'executionBackoffCapMs',
  FUNNELGATE_CONNECTOR_BREAKER_THRESHOLD: 'connectorBreakerThreshold',
  FUNNELGATE_CONNECTOR_BREAKER_COOLDOWN_SECONDS: 'connectorBreakerCooldownSeconds',
  FUNNELGATE_WEBHOOK_URL: 'outboundWebhookUrl',
  FUNNELGATE_WEBHOOK_SECRET: 'outboundWebhookSecret',
  FUNNELGATE_HUBSPOT_URL: 'hubspotUrl',
  FUNNELGATE_HUBSPOT_TOKEN: 'hubspotToken',
  FUNNELGATE_SALESFORCE_URL: 'salesforceUrl',
  FUNNELGATE_SALESFORCE_TOKEN: 'salesforceToken',
  FUNNELGATE_CRM_SOURCE: 'crmSource',
  DATABASE_POOL_SIZE: 'databasePoolSize',
  FUNNELGATE_WORKER_CONCURRENCY: 'workerConcurrency',
  FUNNELGATE_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  FUNNELGATE_DEMO_DATA: 'demoData',
  FUNNELGATE_ATTRIBUTION_WINDOW_DAYS: 'attributionWindowDays',
  FUNNELGATE_DRIFT_PSI_WARN: 'driftPsiWarn',
  FUNNELGATE_DRIFT_PSI_ALARM: 'driftPsiAlarm',
  FUNNELGATE_DRIFT_P_VALUE: 'driftPValue',
  FUNNELGATE_DRIFT_WINDOW_DAYS: 'driftWindowDays',
  FUNNELGATE_DRIFT_MIN_SAMPLES: 'driftMinSamples',
  FUNNELGATE_CALIBRATION_ECE_WARN: 'calibrationEceWarn',
  FUNNELGATE_CALIBRATION_ECE_ALARM: 'calibrationEceAlarm',
  FUNNELGATE_FRESHNESS_WARN_SECONDS: 'freshnessWarnSeconds',
  FUNNELGATE_FRESHNESS_ALARM_SECONDS: 'freshnessAlarmSeconds',
  FUNNELGATE_CONNECTOR_ERROR_RATE_WARN: 'connectorErrorRateWarn',
  FUNNELGATE_CONNECTOR_ERROR_RATE_ALARM: 'connectorErrorRateAlarm',
  FUNNELGATE_JOB_FAILURES_WARN: 'jobFailuresWarn',
  FUNNELGATE_JOB_FAILURES_ALARM: 'jobFailuresAlarm',
  FUNNELGATE_ALARMS_TRIP_BREAKER: 'alarmsTripBreaker',
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
  if (['bootstrapToken', 'outboundWebhookSecret', 'hubspotToken', 'salesforceToken'].includes(key))
    return '[redacted]';
  if ((key === 'databaseUrl' || key === 'natsUrl') && typeof value === 'string')
    return value.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  return value;
}

/** For logs: the database URL without its password. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
}
