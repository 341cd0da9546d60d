// Streaming ingestion from NATS JetStream through a durable pull consumer that any number of processes share.
// A message is acknowledged only after what it carried is committed (stored, found to be a duplicate, or
// quarantined); a crash at any point before that means JetStream redelivers it, and redelivery is harmless
// because events are stored idempotently on (source, id).
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  nanos,
  StorageType,
  type ConsumerInfo,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { describeDatabaseUrl } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ingestCloudEvents, openBatch } from './ingest-events.ts';
import type { FetcherOptions, FetcherReport, FetcherRequest } from './nats-fetcher.ts';
import { quarantineRecord } from './quarantine.ts';

export const DEFAULT_NATS_STREAM = 'FUNNELGATE_EVENTS';
export const DEFAULT_NATS_DURABLE = 'funnelgate-ingest';
export const DEFAULT_NATS_SUBJECTS = ['funnelgate.events.>', 'funnelgate.events'];

/** A fetch is one transaction of the event store: 2,000 events share its fixed costs (commit, identity keys). */
export const DEFAULT_NATS_BATCH_SIZE = 2000;
/** Fetched batches stored at the same time (see consumeUntilAborted). */
const IN_FLIGHT = 2;
const DEFAULT_ACK_WAIT_MS = 30_000;
/**
 * Room for a dozen consumers with their batches in hand (two being stored and one fetched ahead), plus messages
 * waiting out a nak delay. Only used when the durable is created.
 */
const MAX_ACK_PENDING = 50_000;
/** Kept a week so a new durable (or a rebuilt database) can read recent history again. */
const STREAM_MAX_AGE_MS = 7 * 24 * 3600_000;
const DUPLICATE_WINDOW_MS = 2 * 60_000;
const FETCH_EXPIRES_MS = 1000;

// JetStream API error codes (nats-server `server/errors.json`).
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NOT_FOUND = 10014;
const CONSUMER_ALREADY_EXISTS = 10148;

export interface NatsConsumerOptions {
  db: Db;
  logger: Logger;
  /** One URL, several comma-separated, or a list. */
  servers: string | string[];
  stream: string;
  durable: string;
  /** Subjects the stream captures if it has to be created; an existing stream is never changed. */
  subjects?: string[];
  /** Messages fetched, stored and acknowledged together. */
  batchSize?: number;
  /** Create the stream when it is missing (default true); when false a missing stream is an error. */
  createStream?: boolean;
  /** How long JetStream waits for an acknowledgment before redelivering; used only when creating the durable. */
  ackWaitMs?: number;
  signal?: AbortSignal;
  /** How often a progress line is logged (default 30 s). */
  summaryIntervalMs?: number;
}

export interface NatsConsumerCounters {
  /** Messages fetched, counting every delivery. */
  received: number;
  /** Events newly stored. */
  stored: number;
  /** Events that were already stored (redeliveries, republished events). */
  duplicate: number;
  /** Messages whose content went to the quarantine. */
  quarantined: number;
  /** Messages JetStream had delivered before (to this or another consumer) without an acknowledgment. */
  redelivered: number;
  /** Fetches whose storage failed; their messages were handed back for redelivery. */
  failedBatches: number;
}

export interface NatsConsumerHandle {
  /** The ingest batch all events of this run are recorded under. */
  batchId: string;
  /** Live counters, updated after each fetch is settled. */
  counters: Readonly<NatsConsumerCounters>;
  /** Settles after the abort signal, once the batch in flight is stored and acknowledged and NATS is drained. */
  done: Promise<NatsConsumerCounters>;
}

/** One message as the main thread sees it; its outcome is decided here and carried out by the fetcher. */
interface Delivery {
  subject: string;
  seq: number;
  deliveryCount: number;
  text: string;
  /** -1: acknowledge; otherwise redeliver after this many ms. Unset when the batch is settled: redeliver. */
  outcome?: number;
}

interface Batch {
  id: number;
  deliveries: Delivery[];
}

interface Decoded {
  delivery: Delivery;
  event?: Record<string, unknown>;
  /** Why the body is not an event, when it is not a JSON object. */
  invalid?: string;
}

interface Unstorable {
  delivery: Delivery;
  code: 'invalid_envelope' | 'processing_failed';
  reason: string;
  /** The event it carried, if it parsed; for the quarantine's source and id. */
  event?: Record<string, unknown> | undefined;
}

interface Run {
  db: Db;
  logger: Logger;
  fetcher: Fetcher;
  batchId: string;
  batchSize: number;
  ackWaitMs: number;
  counters: NatsConsumerCounters;
  signal: AbortSignal | undefined;
}

/**
 * The main thread's end of the fetcher worker (nats-fetcher.ts): one fetch at a time, batches settled by message
 * (one post per batch, whatever its size).
 */
class Fetcher {
  private readonly worker: Worker;
  private pending: { resolve: (batch: Batch) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly closed: Promise<void>;

  private constructor(worker: Worker) {
    this.worker = worker;
    this.closed = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (report: FetcherReport) => this.receive(report));
    worker.on('error', (error) => this.fail(error));
    worker.once('exit', () => this.fail(new AppError('unavailable', 'The NATS fetcher stopped')));
  }

  static async start(options: FetcherOptions): Promise<Fetcher> {
    const worker = new Worker(new URL('./nats-fetcher.ts', import.meta.url), { workerData: options });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (report: FetcherReport) => {
        if (report.type === 'ready') resolve();
        else if (report.type === 'failed')
          reject(new AppError('unavailable', `Cannot consume from NATS: ${report.message}`));
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AppError('unavailable', `The NATS fetcher exited (${code})`)));
    });
    return new Fetcher(worker);
  }

  /** The next batch (possibly empty when the fetch expired or was stopped). */
  fetch(): Promise<Batch> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.send({ type: 'fetch' });
    });
  }

  /** Ends a fetch in progress now, with what it has, instead of when it expires. */
  stopFetching(): void {
    this.send({ type: 'stop-fetch' });
  }

  working(batch: Batch): void {
    this.send({ type: 'working', batch: batch.id });
  }

  settle(batch: Batch): void {
    this.send({
      type: 'settle',
      batch: batch.id,
      outcomes: batch.deliveries.map((d) => d.outcome ?? backoffMs(d)),
    });
  }

  get broken(): Error | undefined {
    return this.failure;
  }

  async close(): Promise<void> {
    this.send({ type: 'close' });
    await this.closed;
  }

  private send(request: FetcherRequest): void {
    if (!this.failure) this.worker.postMessage(request);
  }

  private receive(report: FetcherReport): void {
    const pending = this.pending;
    if (report.type === 'batch') {
      this.pending = undefined;
      pending?.resolve({
        id: report.batch,
        deliveries: report.texts.map((text, i) => ({
          text,
          subject: report.subjects[i]!,
          seq: report.seqs[i]!,
          deliveryCount: report.deliveryCounts[i]!,
        })),
      });
    } else if (report.type === 'fetch-failed') {
      this.pending = undefined;
      pending?.reject(new AppError('unavailable', `Fetching from NATS failed: ${report.message}`));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.pending?.reject(error);
    this.pending = undefined;
  }
}

/**
 * Connects, makes sure the stream and the durable consumer exist, opens an ingest batch for this run, and starts
 * consuming. Resolves once consuming has started; set-up problems (NATS unreachable, stream missing with
 * `createStream: false`, a durable that is not an explicit-ack pull consumer) reject.
 */
export async function runNatsConsumer(options: NatsConsumerOptions): Promise<NatsConsumerHandle> {
  const { db, logger, stream, durable } = options;
  const batchSize = options.batchSize ?? DEFAULT_NATS_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new AppError(
      'bad_request',
      `The batch size must be a whole number from 1 to 10000, not ${batchSize}`,
    );
  }
  const nc = await connectNats(options.servers, `funnelgate ingest ${durable}`);
  let run: Run;
  try {
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, stream, options.subjects ?? DEFAULT_NATS_SUBJECTS, options.createStream ?? true);
    const info = await ensureDurableConsumer(jsm, stream, durable, options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS);
    const fetcher = await Fetcher.start({
      servers: serverList(options.servers),
      name: `funnelgate ingest ${durable}`,
      stream,
      durable,
      batchSize,
      fetchExpiresMs: FETCH_EXPIRES_MS,
    });
    try {
      const batchId = await openBatch(
        db,
        { channel: 'nats', description: `NATS stream ${stream}, durable consumer ${durable}` },
        `nats:${stream}`,
      );
      const counters = {
        received: 0,
        stored: 0,
        duplicate: 0,
        quarantined: 0,
        redelivered: 0,
        failedBatches: 0,
      };
      // The durable may predate this process with another ack wait; the keep-alive follows the real one.
      const ackWaitMs = (info.config.ack_wait ?? nanos(DEFAULT_ACK_WAIT_MS)) / 1_000_000;
      run = { db, logger, fetcher, batchId, batchSize, ackWaitMs, counters, signal: options.signal };
    } catch (error) {
      await fetcher.close();
      throw error;
    }
  } finally {
    // Setting up is all this connection is for; fetching and acknowledging have the fetcher's own.
    await nc.close();
  }
  logger.info({ stream, durable, batchId: run.batchId, batchSize }, 'consuming CloudEvents from NATS');
  const done = consumeUntilAborted(run, options.summaryIntervalMs ?? 30_000).finally(() =>
    run.fetcher
      .close()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not close the NATS connection')),
  );
  return { batchId: run.batchId, counters: run.counters, done };
}

function serverList(servers: string | string[]): string[] {
  return (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter(Boolean);
}

export async function connectNats(servers: string | string[], name: string): Promise<NatsConnection> {
  const list = serverList(servers);
  try {
    // A long-running consumer rides out NATS restarts instead of giving up after a few attempts.
    return await connect({ servers: list, name, maxReconnectAttempts: -1 });
  } catch (error) {
    throw new AppError(
      'unavailable',
      `Cannot connect to NATS at ${list.map(describeDatabaseUrl).join(', ')}: ${(error as Error).message}. ` +
        'Start a NATS server with JetStream enabled (nats-server -js), or point NATS_URL / --servers at one.',
      undefined,
      { cause: error },
    );
  }
}

/** Creates the stream (file storage) when it is missing and `create` is true; an existing stream is left as it is. */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  subjects: string[],
  create: boolean,
): Promise<'existed' | 'created'> {
  try {
    await jsm.streams.info(stream);
    return 'existed';
  } catch (error) {
    if (apiErrorCode(error) !== STREAM_NOT_FOUND)
      throw natsProblem(error, `Cannot read the NATS stream ${stream}`);
  }
  if (!create) {
    throw new AppError(
      'not_found',
      `The NATS stream ${stream} does not exist. Create it (nats stream add ${stream} --subjects "${subjects.join(',')}") ` +
        'or leave out --no-create so Funnelgate creates it.',
    );
  }
  try {
    await jsm.streams.add({
      name: stream,
      subjects,
      storage: StorageType.File,
      max_age: nanos(STREAM_MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
    return 'created';
  } catch (error) {
    // Another consumer starting at the same moment created it first.
    if (apiErrorCode(error) === STREAM_NAME_IN_USE) return 'existed';
    throw natsProblem(error, `Cannot create the NATS stream ${stream} for subjects ${subjects.join(', ')}`);
  }
}

async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  ackWaitMs: number,
): Promise<ConsumerInfo> {
  const existing = await consumerInfo(jsm, stream, durable);
  if (existing) return checkDurable(existing);
  try {
    return await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      // Never give up on a message: content PostgreSQL refuses ends in the quarantine (see settleAlone), and
      // anything else is retried until it works, so a long database outage cannot make JetStream drop events.
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
    });
  } catch (error) {
    if (apiErrorCode(error) === CONSUMER_ALREADY_EXISTS) {
      const raced = await consumerInfo(jsm, stream, durable);
      if (raced) return checkDurable(raced);
    }
    throw natsProblem(error, `Cannot create the durable consumer ${durable} on the NATS stream ${stream}`);
  }
}

async function consumerInfo(jsm: JetStreamManager, stream: string, durable: string) {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (apiErrorCode(error) === CONSUMER_NOT_FOUND) return undefined;
    throw natsProblem(error, `Cannot read the consumer ${durable} of the NATS stream ${stream}`);
  }
}

function checkDurable(info: ConsumerInfo): ConsumerInfo {
  if (info.config.deliver_subject || info.config.ack_policy !== AckPolicy.Explicit) {
    throw new AppError(
      'conflict',
      `The NATS consumer ${info.name} on ${info.stream_name} exists but is not a pull consumer with explicit ` +
        'acknowledgments, so events could be lost. Use another --durable name or delete that consumer.',
    );
  }
  return info;
}

async function consumeUntilAborted(run: Run, summaryIntervalMs: number): Promise<NatsConsumerCounters> {
  const started = Date.now();
  let lastLogged = -1;
  const summary = setInterval(() => {
    if (run.counters.received === lastLogged) return;
    lastLogged = run.counters.received;
    run.logger.info(progress(run.counters, started), 'nats ingest progress');
  }, summaryIntervalMs);
  summary.unref();
  // A stop ends the wait for more messages at once rather than when the fetch expires; what arrived so far is
  // still stored and acknowledged.
  const stopFetching = () => run.fetcher.stopFetching();
  run.signal?.addEventListener('abort', stopFetching, { once: true });
  let consecutiveFailures = 0;
  // Batches being stored at once: two writers keep the database busy while the next batch is fetched. Each batch
  // is acknowledged when its own transaction has committed.
  const inFlight = new Set<Promise<void>>();
  try {
    while (!run.signal?.aborted) {
      if (run.fetcher.broken) throw run.fetcher.broken;
      if (consecutiveFailures > 0) {
        // The database is struggling: let what is in flight finish, then back off before fetching more.
        await Promise.all(inFlight);
        if (consecutiveFailures > 0) {
          await pause(Math.min(30_000, 500 * 2 ** consecutiveFailures), run.signal);
          if (run.signal?.aborted) break;
        }
      }
      let batch: Batch;
      try {
        batch = await run.fetcher.fetch();
      } catch (error) {
        if (run.fetcher.broken) throw error;
        run.logger.warn({ err: error }, 'fetching from NATS failed; trying again');
        await pause(1000, run.signal);
        continue;
      }
      if (batch.deliveries.length === 0) continue;
      // The next batch is fetched while both writers are busy, so it is ready the moment one of them is free.
      while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      // Finished even when the signal arrives meanwhile: these messages are ours until acknowledged.
      const settling: Promise<void> = settle(run, batch)
        .then((ok) => {
          consecutiveFailures = ok ? 0 : consecutiveFailures + 1;
        })
        .finally(() => inFlight.delete(settling));
      inFlight.add(settling);
    }
    await Promise.all(inFlight);
  } finally {
    run.signal?.removeEventListener('abort', stopFetching);
    await Promise.allSettled(inFlight);
    clearInterval(summary);
  }
  run.logger.info(progress(run.counters, started), 'nats ingest stopped');
  return { ...run.counters };
}

/**
 * Stores one fetch and acknowledges it, or hands it back for redelivery. Returns false when the failure looks
 * like the database's rather than the content's, so the caller backs off.
 */
async function settle(run: Run, batch: Batch): Promise<boolean> {
  const deliveries = batch.deliveries;
  run.counters.received += deliveries.length;
  run.counters.redelivered += deliveries.filter((d) => d.deliveryCount > 1).length;
  // Tell JetStream we are still at it, so a slow transaction does not make it redeliver to someone else.
  const keepAlive = setInterval(() => run.fetcher.working(batch), Math.max(1000, run.ackWaitMs / 3));
  try {
    const decoded = deliveries.map(decode);
    try {
      await store(run, decoded);
      for (const d of deliveries) ack(d);
      return true;
    } catch (error) {
      run.counters.failedBatches += 1;
      const contentAtFault = isDataError(error);
      run.logger.error(
        { err: error, messages: deliveries.length, retryingOneByOne: contentAtFault },
        contentAtFault
          ? 'a message in this batch cannot be stored; storing the batch one message at a time'
          : 'storing events from NATS failed; they will be redelivered',
      );
      if (!contentAtFault) {
        for (const d of deliveries) nakWithBackoff(d);
        return false;
      }
      for (const item of decoded) await settleAlone(run, item);
      return true;
    }
  } finally {
    clearInterval(keepAlive);
    run.fetcher.settle(batch);
  }
}

/** The same bytes fail the same way every time, so a message that fails alone like that is quarantined. */
async function settleAlone(run: Run, item: Decoded): Promise<void> {
  try {
    await store(run, [item]);
    ack(item.delivery);
    return;
  } catch (error) {
    if (!isDataError(error)) {
      nakWithBackoff(item.delivery);
      return;
    }
    try {
      const reason = `could not be stored: ${(error as Error).message}`;
      await quarantineMessages(run, [
        { delivery: item.delivery, code: 'processing_failed', reason, event: item.event },
      ]);
      run.counters.quarantined += 1;
      ack(item.delivery);
    } catch (quarantineError) {
      run.logger.error(
        { err: quarantineError, streamSequence: item.delivery.seq },
        'could not quarantine a message',
      );
      nakWithBackoff(item.delivery);
    }
  }
}

/**
 * PostgreSQL refused the content itself (class 22: data exception, e.g. a NUL character in JSON; class 54:
 * a size limit). Anything else (connection lost, deadlock after retries, a bug) is retried, never quarantined.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code);
}

async function store(run: Run, items: Decoded[]): Promise<void> {
  const events = items.flatMap((item) => (item.event ? [item.event] : []));
  const invalid = items.flatMap((item): Unstorable[] =>
    item.invalid ? [{ delivery: item.delivery, code: 'invalid_envelope', reason: item.invalid }] : [],
  );
  const report = events.length
    ? await ingestCloudEvents(run.db, events, { channel: 'nats', batchId: run.batchId })
    : { accepted: 0, duplicate: 0, quarantined: 0 };
  if (invalid.length > 0) await quarantineMessages(run, invalid);
  run.counters.stored += report.accepted;
  run.counters.duplicate += report.duplicate;
  run.counters.quarantined += report.quarantined + invalid.length;
}

/** Messages that cannot be events, kept whole as text with the reason and counted on the run's batch. */
async function quarantineMessages(run: Run, items: Unstorable[]): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    for (const { delivery, code, reason, event } of items) {
      await quarantineRecord(trx, {
        batchId: run.batchId,
        channel: 'nats',
        source: typeof event?.['source'] === 'string' ? event['source'] : null,
        sourceEventId: typeof event?.['id'] === 'string' ? event['id'] : null,
        recordNumber: null,
        code,
        reason: `NATS message on ${delivery.subject} (stream sequence ${delivery.seq}): ${reason}`,
        errors: [{ field: '(message)', message: reason }],
        raw: delivery.text,
        mappingVersion: null,
      });
    }
    await trx
      .updateTable('ingest_batches')
      .set({ quarantined: sql`quarantined + ${items.length}`, finished_at: new Date() })
      .where('id', '=', run.batchId)
      .execute();
  });
}

function decode(delivery: Delivery): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(delivery.text);
  } catch (error) {
    return { delivery, invalid: `the body is not JSON (${(error as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return { delivery, invalid: `the body is ${what}; send one CloudEvent (a JSON object) per message` };
  }
  return { delivery, event: value as Record<string, unknown> };
}

function ack(delivery: Delivery): void {
  delivery.outcome = -1;
}

function nakWithBackoff(delivery: Delivery): void {
  delivery.outcome = backoffMs(delivery);
}

/** Redelivery waits longer each time a message fails: 1 s, 2 s, 4 s ... up to a minute. */
function backoffMs(delivery: Delivery): number {
  return Math.min(60_000, 1000 * 2 ** (delivery.deliveryCount - 1));
}

function progress(counters: NatsConsumerCounters, started: number) {
  const seconds = (Date.now() - started) / 1000;
  return { ...counters, eventsPerSecond: Math.round(counters.received / Math.max(seconds, 0.001)) };
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function apiErrorCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } }).api_error?.err_code;
}

function natsProblem(error: unknown, what: string): AppError {
  const description = (error as { api_error?: { description?: string } }).api_error?.description;
  return new AppError(
    description ? 'conflict' : 'unavailable',
    `${what}: ${description ?? (error as Error).message}`,
    undefined,
    { cause: error },
  );
}
