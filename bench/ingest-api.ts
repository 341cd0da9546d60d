// The HTTP batch API, measured over real HTTP against the real server, with the load client in a worker thread.
import { Worker } from 'node:worker_threads';
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
    const bodies: string[] = [];
    for (let i = 0; i < events.length; i += batchSize)
      bodies.push(JSON.stringify(events.slice(i, i + batchSize)));
    const client = new Worker(new URL('./api-client.ts', import.meta.url), {
      workerData: { base, token, bodies, clients },
    });
    const finished = new Promise<void>((resolve, reject) => {
      client.on('message', (message) => {
        if (message === 'done') resolve();
      });
      client.once('error', reject);
      client.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`client exited ${code}`))));
    });
    await new Promise<void>((resolve, reject) => {
      client.once('message', () => resolve());
      client.once('error', reject);
    });
    const { seconds } = await timed(async () => {
      client.postMessage('go');
      await finished;
    });
    const stored = await countEvents(target.db);
    if (stored !== count) throw new Error(`the API stored ${stored} of ${count}`);
    return { events: count, seconds };
  } finally {
    await app.close();
    await target.drop();
  }
}
