// Streaming ingestion from a real NATS JetStream server (NATS_URL, default nats://127.0.0.1:4222) into this
// file's database: at-least-once delivery with nothing lost and nothing doubled, across shared and killed
// consumers. Every test uses its own stream, subject and source, and deletes its stream afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDb, createPool } from '../../src/db/database.ts';
import {
  ensureStream,
  runNatsConsumer,
  type NatsConsumerHandle,
  type NatsConsumerOptions,
} from '../../src/ingest/nats-consumer.ts';
import { publishCloudEvents } from '../../src/ingest/nats-publish.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { cloudEvent } from '../helpers/events.ts';

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const bin = path.join(root, 'bin/funnelgate.js');
// Quiet unless LOG_LEVEL asks otherwise (the poison test logs an error on purpose).
const config = loadConfig({ defaults: { logLevel: 'silent' } });
const servers = config.natsUrl;
const logger = createLogger(config);
const run = randomBytes(4).toString('hex');

let database: TestDatabase;
let nc: NatsConnection;
const streams: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  nc = await connect({ servers });
});
afterAll(async () => {
  const jsm = await nc?.jetstreamManager();
  for (const stream of streams) await jsm?.streams.delete(stream).catch(() => undefined);
  await nc?.close();
  await database?.drop();
});

/** A stream, subject and registered source of the test's own. */
async function scenario(name: string) {
  const stream = `FGTEST_${run}_${name}`.toUpperCase();
  streams.push(stream);
  const source = `nats-test-${run}-${name}`;
  await ensureSource(database.db, { name: source });
  return { stream, subject: `fgtest.${run}.${name}`, source, durable: `fgtest-${name}` };
}

function events(source: string, count: number) {
  return Array.from({ length: count }, (_, i) =>
    cloudEvent(
      'web.page_viewed',
      { contact: { email: `visitor${i % 97}@acme-${source}.example` }, url: `https://acme.example/p/${i}` },
      { source, id: `${source}-${i}` },
    ),
  );
}

function consumer(
  s: { stream: string; durable: string; subject: string },
  signal: AbortSignal,
  extra: Partial<NatsConsumerOptions> = {},
) {
  return runNatsConsumer({
    db: database.db,
    logger,
    servers,
    stream: s.stream,
    durable: s.durable,
    subjects: [s.subject],
    batchSize: 100,
    signal,
    ...extra,
  });
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function storedCounts(source: string) {
  const row = await database.db
    .selectFrom('events')
    .select((eb) => [
      eb.fn.countAll<string>().as('rows'),
      eb.fn.count<string>('source_event_id').distinct().as('distinct_ids'),
    ])
    .where('source', '=', source)
    .executeTakeFirstOrThrow();
  return { rows: Number(row.rows), distinct: Number(row.distinct_ids) };
}

async function quarantinedFor(source: string) {
  const row = await database.db
    .selectFrom('quarantine')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('source', '=', source)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function pendingOn(stream: string, durable: string) {
  const info = await (await nc.jetstreamManager()).consumers.info(stream, durable);
  return { unprocessed: info.num_pending, unacknowledged: info.num_ack_pending };
}

async function stop(controller: AbortController, handle: NatsConsumerHandle) {
  controller.abort();
  return handle.done;
}

describe('NATS JetStream ingestion', () => {
  it('stores every event once, and a redelivery of all of them adds nothing', async () => {
    const s = await scenario('once');
    const batch = events(s.source, 400);
    const controller = new AbortController();
    const handle = await consumer(s, controller.signal);
    const published = await publishCloudEvents(servers, s.subject, batch);
    expect(published).toEqual({ published: 400, duplicates: 0 });
    await until(() => handle.counters.stored === 400, 'all 400 stored');
    const first = await stop(controller, handle);
    expect(first).toMatchObject({ received: 400, stored: 400, duplicate: 0, quarantined: 0 });
    expect(await storedCounts(s.source)).toEqual({ rows: 400, distinct: 400 });
    expect(await pendingOn(s.stream, s.durable)).toEqual({ unprocessed: 0, unacknowledged: 0 });
    const recorded = await database.db
      .selectFrom('ingest_batches')
      .selectAll()
      .where('id', '=', handle.batchId)
      .executeTakeFirstOrThrow();
    expect(recorded).toMatchObject({ channel: 'nats', accepted: 400, duplicate: 0, quarantined: 0 });

    // Same message ids within the duplicate window: JetStream itself drops them.
    const republished = await publishCloudEvents(servers, s.subject, batch.slice(0, 10));
    expect(republished.duplicates).toBe(10);

    // A redelivery that gets past JetStream (new message ids) is recognised by the store.
    await publishCloudEvents(servers, s.subject, batch, { msgId: (e) => `${e.source}:${e.id}:again` });
    const again = new AbortController();
    const second = await consumer(s, again.signal);
    await until(() => second.counters.duplicate === 400, 'all 400 seen as duplicates');
    expect(await stop(again, second)).toMatchObject({ received: 400, stored: 0, duplicate: 400 });
    expect(await storedCounts(s.source)).toEqual({ rows: 400, distinct: 400 });
    expect(await quarantinedFor(s.source)).toBe(0);
  });

  it('quarantines message bodies that are not CloudEvent objects, and acknowledges them', async () => {
    const s = await scenario('bodies');
    const controller = new AbortController();
    const handle = await consumer(s, controller.signal);
    const js = nc.jetstream();
    await js.publish(s.subject, new TextEncoder().encode('not json at all'));
    await js.publish(s.subject, new TextEncoder().encode('[{"specversion":"1.0"}]'));
    await publishCloudEvents(servers, s.subject, events(s.source, 3));
    await until(() => handle.counters.received === 5 && handle.counters.stored === 3, 'the five messages');
    await stop(controller, handle);
    const quarantined = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('batch_id', '=', handle.batchId)
      .orderBy('raw')
      .execute();
    expect(quarantined.map((q) => [q.reason_code, q.raw])).toEqual([
      ['invalid_envelope', '[{"specversion":"1.0"}]'],
      ['invalid_envelope', 'not json at all'],
    ]);
    expect(quarantined[0]!.reason).toMatch(/an array/);
    expect(quarantined[1]!.reason).toMatch(/not JSON/);
    expect(await pendingOn(s.stream, s.durable)).toEqual({ unprocessed: 0, unacknowledged: 0 });
  });

  it('quarantines an event PostgreSQL refuses without holding up the rest of its batch', async () => {
    const s = await scenario('poison');
    const batch = events(s.source, 20);
    // jsonb cannot hold U+0000, so this event fails the whole transaction it is in.
    batch.splice(
      7,
      0,
      cloudEvent(
        'web.page_viewed',
        { contact: { email: 'nul@acme.example' }, url: 'a\u0000b' },
        { source: s.source, id: 'nul' },
      ),
    );
    const controller = new AbortController();
    const handle = await consumer(s, controller.signal);
    await publishCloudEvents(servers, s.subject, batch);
    await until(
      () => handle.counters.stored === 20 && handle.counters.quarantined === 1,
      'the batch settled',
    );
    const counters = await stop(controller, handle);
    expect(counters).toMatchObject({ received: 21, stored: 20, quarantined: 1 });
    const quarantined = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('batch_id', '=', handle.batchId)
      .execute();
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({
      reason_code: 'invalid_data',
      source: s.source,
      source_event_id: 'nul',
    });
    expect(await storedCounts(s.source)).toEqual({ rows: 20, distinct: 20 });
    expect(await pendingOn(s.stream, s.durable)).toEqual({ unprocessed: 0, unacknowledged: 0 });
  });

  it('shares one durable between two consumers without losing or doubling an event', async () => {
    const s = await scenario('shared');
    const otherPool = createPool(database.url, 5);
    const otherDb = createDb(otherPool);
    const controller = new AbortController();
    try {
      // Started together, so both race to create the stream and the durable.
      const [a, b] = await Promise.all([
        consumer(s, controller.signal, { batchSize: 50 }),
        consumer(s, controller.signal, { batchSize: 50, db: otherDb }),
      ]);
      await publishCloudEvents(servers, s.subject, events(s.source, 1000));
      await until(() => a.counters.stored + b.counters.stored >= 1000, 'all 1000 stored');
      controller.abort();
      const [doneA, doneB] = await Promise.all([a.done, b.done]);
      expect(doneA.stored).toBeGreaterThan(0);
      expect(doneB.stored).toBeGreaterThan(0);
      expect(doneA.stored + doneB.stored).toBe(1000);
      expect(doneA.duplicate + doneB.duplicate).toBe(0);
      expect(await storedCounts(s.source)).toEqual({ rows: 1000, distinct: 1000 });
      expect(await quarantinedFor(s.source)).toBe(0);
    } finally {
      controller.abort();
      await otherDb.destroy();
    }
  });

  it('loses and doubles nothing when a consumer process is killed mid-batch', async () => {
    const s = await scenario('killed');
    const total = 3000;
    await ensureStream(await nc.jetstreamManager(), s.stream, [s.subject], true);
    await publishCloudEvents(servers, s.subject, events(s.source, total));

    const child = spawnConsumer(s);
    let stored = 0;
    try {
      // Kill it once it has stored a good part, at a moment it holds unacknowledged messages.
      await until(
        async () => {
          assertRunning(child);
          stored = (await storedCounts(s.source)).rows;
          return stored >= 500 && (await pendingOn(s.stream, s.durable)).unacknowledged > 0;
        },
        'the child process to store part of the events',
        40_000,
      );
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(stored).toBeLessThan(total);
    expect(child.signalCode).toBe('SIGKILL');

    const controller = new AbortController();
    const successor = await consumer(s, controller.signal);
    await until(async () => (await storedCounts(s.source)).rows >= total, 'the rest to be stored', 30_000);
    await until(
      async () => (await pendingOn(s.stream, s.durable)).unacknowledged === 0,
      'the redeliveries to be acknowledged',
    );
    const counters = await stop(controller, successor);
    // What the killed process held unacknowledged came round again after the ack wait.
    expect(counters.redelivered).toBeGreaterThan(0);
    expect(await storedCounts(s.source)).toEqual({ rows: total, distinct: total });
    expect(await quarantinedFor(s.source)).toBe(0);
    expect(await pendingOn(s.stream, s.durable)).toEqual({ unprocessed: 0, unacknowledged: 0 });
  });
});

/** The real CLI, with only the test database and NATS in its environment. */
function spawnConsumer(s: { stream: string; durable: string; subject: string }): ChildProcess {
  const args = [
    bin,
    'ingest',
    'nats',
    '--stream',
    s.stream,
    '--durable',
    s.durable,
    '--subject',
    s.subject,
    '--batch-size',
    '20',
    '--ack-wait',
    '3',
    '--no-create',
  ];
  const child = spawn(node, args, {
    cwd: root,
    env: { DATABASE_URL: database.url, NATS_URL: servers, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (childErrors += chunk.toString()));
  return child;
}

let childErrors = '';

function assertRunning(child: ChildProcess): void {
  if (child.exitCode !== null)
    throw new Error(`the consumer process exited (${child.exitCode}): ${childErrors}`);
}
