// What the delivery loop needs from the configuration, in one object, so the loop and the connectors never
// see the rest of Config (and tests can build one directly).
import type { Config } from '../config.ts';

export interface ConnectorSettings {
  webhook: { url: string | undefined; secret: string | undefined };
  hubspot: { url: string; token: string | undefined; source: string };
  salesforce: { url: string | undefined; token: string | undefined; source: string };
}

export interface ExecutionSettings {
  maxAttempts: number;
  /** How long a claimed delivery may stay 'delivering' before another worker takes it over. */
  visibilityTimeoutMs: number;
  /** Per request; always shorter than the visibility timeout (see requestTimeoutFor). */
  requestTimeoutMs: number;
  backoff: { baseMs: number; capMs: number };
  breaker: { threshold: number; cooldownMs: number };
  connectors: ConnectorSettings;
}

export function executionSettings(config: Config): ExecutionSettings {
  return {
    maxAttempts: config.executionMaxAttempts,
    visibilityTimeoutMs: config.executionVisibilityTimeoutSeconds * 1000,
    requestTimeoutMs: config.executionRequestTimeoutSeconds * 1000,
    backoff: { baseMs: config.executionBackoffBaseMs, capMs: config.executionBackoffCapMs },
    breaker: {
      threshold: config.connectorBreakerThreshold,
      cooldownMs: config.connectorBreakerCooldownSeconds * 1000,
    },
    connectors: {
      webhook: { url: config.outboundWebhookUrl, secret: config.outboundWebhookSecret },
      hubspot: { url: config.hubspotUrl, token: config.hubspotToken, source: config.crmSource ?? 'hubspot' },
      salesforce: {
        url: config.salesforceUrl,
        token: config.salesforceToken,
        source: config.crmSource ?? 'salesforce',
      },
    },
  };
}

/**
 * A request must end (or be abandoned) well before its lease does; otherwise a second worker could take the
 * delivery over while the first is still waiting for an answer.
 */
export function requestTimeoutFor(settings: ExecutionSettings): number {
  return Math.max(1, Math.min(settings.requestTimeoutMs, Math.floor(settings.visibilityTimeoutMs * 0.8)));
}
