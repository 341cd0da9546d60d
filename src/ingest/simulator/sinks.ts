// Where simulated events go: the real ingestion path, in this process, over HTTP, or through NATS JetStream.
import type { NatsConnection } from 'nats';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import type { CloudEvent } from '../catalogue.ts';
import { ingestCloudEvents, openBatch } from '../ingest-events.ts';
import { connectNats } from '../nats-consumer.ts';
import { publishCloudEvents } from '../nats-publish.ts';

/** What the receiving side said about a batch, when it says anything (NATS only acknowledges receipt). */
export interface SinkReport {
  accepted: number;
  duplicate: number;
  quarantined: number;
  /** Reasons of the first quarantined events, to show the user. */
  problems?: string[];
}

/** Sends one batch. A sink that holds a connection also has `close()`; whoever created the sink calls it. */
export type EventSink = ((events: CloudEvent[]) => Promise<SinkReport | void>) & {
  close?: () => Promise<void>;
};

interface IngestReportLike {
  accepted?: unknown;
  duplicate?: unknown;
  quarantined?: unknown;
  results?: { status?: string; reason?: string }[];
}

function toSinkReport(report: IngestReportLike): SinkReport {
  const problems = (report.results ?? [])
    .filter((r) => r.status === 'quarantined' && r.reason)
    .slice(0, 5)
    .map((r) => r.reason!);
  return {
    accepted: Number(report.accepted ?? 0),
    duplicate: Number(report.duplicate ?? 0),
    quarantined: Number(report.quarantined ?? 0),
    ...(problems.length ? { problems } : {}),
  };
}

/**
 * Straight into `ingestCloudEvents` in this process, all batches in one ingest batch record.
 * The source must be registered first (runSimulation does that).
 */
export function inProcessSink(
  db: Db,
  options: { createdBy?: string | null; description?: string } = {},
): EventSink {
  let batchId: string | undefined;
  return async (events) => {
    if (events.length === 0) return { accepted: 0, duplicate: 0, quarantined: 0 };
    batchId ??= await openBatch(
      db,
      {
        channel: 'simulator',
        createdBy: options.createdBy ?? null,
        description: options.description ?? 'simulation',
      },
      events[0]!.source,
    );
    const report = await ingestCloudEvents(db, events, {
      channel: 'simulator',
      batchId,
      ...(options.createdBy !== undefined ? { createdBy: options.createdBy } : {}),
    });
    return toSinkReport(report);
  };
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** POST {baseUrl}/v1/events as application/cloudevents-batch+json with a bearer token (role ingest or admin). */
export function httpSink(baseUrl: string, token: string, options: { retries?: number } = {}): EventSink {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/events`;
  const retries = options.retries ?? 5;
  return async (events) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${token}` },
          body: JSON.stringify(events),
        });
      } catch (error) {
        if (attempt < retries) {
          await delay(backoff(attempt));
          continue;
        }
        throw new AppError(
          'unavailable',
          `Cannot reach ${url}: ${(error as Error).message}. Is Funnelgate running (funnelgate start)?`,
          undefined,
          { cause: error },
        );
      }
      const text = await response.text();
      if (response.ok) return toSinkReport(parseJson(text) as IngestReportLike);
      if (RETRYABLE_STATUS.has(response.status) && attempt < retries) {
        await delay(backoff(attempt));
        continue;
      }
      throw httpError(url, response.status, text);
    }
  };
}

function httpError(url: string, status: number, text: string): AppError {
  const body = parseJson(text) as { error?: { message?: string } } | undefined;
  const message = body?.error?.message ?? text.slice(0, 500);
  const code =
    status === 401
      ? 'unauthenticated'
      : status === 403
        ? 'forbidden'
        : status === 413
          ? 'payload_too_large'
          : 'unavailable';
  const hint =
    status === 401 || status === 403 ? ' Pass a token with the ingest or admin role (--token).' : '';
  return new AppError(code, `POST ${url} answered ${status}: ${message}.${hint}`, { status });
}

/**
 * Publishes each event as one JSON message to a JetStream subject, with Nats-Msg-Id `${source}:${id}` for
 * deduplication. The stream must exist (the NATS consumer creates it); the connection opens on first use.
 */
export function natsSink(servers: string | string[], subject: string): EventSink {
  let connection: Promise<NatsConnection> | undefined;
  const sink: EventSink = async (events) => {
    connection ??= connectNats(servers, 'funnelgate simulate');
    const nc = await connection;
    try {
      await publishCloudEvents(servers, subject, events, { connection: nc });
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError(
        'unavailable',
        `Publishing to NATS subject "${subject}" failed: ${(error as Error).message}. A JetStream stream must ` +
          'capture the subject: run `funnelgate ingest nats` once to create it.',
        undefined,
        { cause: error },
      );
    }
  };
  sink.close = async () => {
    if (!connection) return;
    const nc = await connection.catch(() => undefined);
    await nc?.drain();
  };
  return sink;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function backoff(attempt: number): number {
  return Math.min(5000, 200 * 2 ** attempt);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
