// The NATS JetStream consumer: events are published first (not timed), then one consumer is timed from start
// until every event is stored.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import {
  connectNats,
  DEFAULT_NATS_BATCH_SIZE,
  ensureStream,
  runNatsConsumer,
} from '../src/ingest/nats-consumer.ts';
import { publishCloudEvents } from '../src/ingest/nats-publish.ts';
import { benchEvents, countEvents, freshDatabase, logger, timed, type BenchServer } from './lib.ts';

export async function benchNats(server: BenchServer, count: number, batchSize = DEFAULT_NATS_BATCH_SIZE) {
  const target = await freshDatabase(server, 'nats');
  const servers = loadConfig({ defaults: { logLevel: 'warn' } }).natsUrl;
  const suffix = randomBytes(4).toString('hex');
  const stream = `FG_BENCH_${suffix}`;
  const subject = `fgbench.${suffix}.events`;
  const nc = await connectNats(servers, 'funnelgate bench');
  const jsm = await nc.jetstreamManager();
  try {
    await ensureStream(jsm, stream, [subject], true);
    await publishCloudEvents(
      servers,
      subject,
      benchEvents(count) as unknown as { source: string; id: string }[],
      { connection: nc },
    );
    const abort = new AbortController();
    // The clock starts once the consumer is connected and its durable exists (as the COPY baseline's starts with
    // its connection open): what is measured is the rate of consuming, not the set-up.
    const handle = await runNatsConsumer({
      db: target.db,
      logger,
      servers,
      stream,
      durable: 'bench',
      subjects: [subject],
      batchSize,
      signal: abort.signal,
    });
    const { seconds } = await timed(async () => {
      while (handle.counters.stored + handle.counters.duplicate + handle.counters.quarantined < count) {
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    abort.abort();
    await handle.done;
    const stored = await countEvents(target.db);
    if (stored !== count) throw new Error(`the NATS consumer stored ${stored} of ${count}`);
    return { events: count, seconds };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await target.drop();
  }
}
