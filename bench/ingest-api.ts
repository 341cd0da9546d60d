// The HTTP batch API, measured over real HTTP against the real server.
import { loadConfig } from '../src/config.ts';
import { createToken } from '../src/auth/tokens.ts';
import { createUser } from '../src/auth/users.ts';
import { buildServer } from '../src/http/server.ts';
import { createMetrics } from '../src/monitoring/metrics.ts';
import { benchEvents, countEvents, freshDatabase, logger, timed, type BenchServer } from './lib.ts';

export async function benchApi(server: BenchServer, count: number, batchSize = 1000, clients = 2) {
  const target = await freshDatabase(server, 'api');
  const config = loadConfig({
    overrides: { databaseUrl: target.url, logLevel: 'warn', maxBatchEvents: batchSize },
  });
  const app = await buildServer({
    config,
    db: target.db,
    logger,
    metrics: createMetrics(),
    readiness: async () => ({ ready: true, checks: {} }),
  });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const user = await createUser(target.db, {
      email: 'bench@example.com',
      name: 'bench',
      roles: ['ingest'],
      kind: 'machine',
    });
    const { token } = await createToken(target.db, { user_id: user.id });
    const events = benchEvents(count);
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < events.length; i += batchSize) batches.push(events.slice(i, i + batchSize));
    const { seconds } = await timed(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < batches.length) {
            const batch = batches[next++]!;
            const response = await fetch(`${base}/v1/events`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/cloudevents-batch+json',
              },
              body: JSON.stringify(batch),
            });
            if (response.status !== 200)
              throw new Error(`batch failed: ${response.status} ${await response.text()}`);
          }
        }),
      );
    });
    const stored = await countEvents(target.db);
    if (stored !== count) throw new Error(`the API stored ${stored} of ${count}`);
    return { events: count, seconds };
  } finally {
    await app.close();
    await target.drop();
  }
}
