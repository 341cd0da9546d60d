// The composition root: database, migrations, first admin, worker and HTTP server, and their orderly shutdown.
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle } from './db/connect.ts';
import { migrateToLatest, migrationStatus } from './db/database.ts';
import { ensureFirstAdmin } from './auth/tokens.ts';
import { startWorker, type WorkerHandle } from './jobs/worker.ts';
import { buildServer, type App } from './http/server.ts';
import type { Readiness } from './http/routes/health.routes.ts';
import { createMetrics } from './monitoring/metrics.ts';
import type { Logger } from './logger.ts';
import { sql } from 'kysely';
import { seedDemoDataIfEmpty } from './ingest/simulator/demo.ts';
import { ensureDefaultPolicy } from './gates/policies.ts';
import { trainLeadModel } from './models/train-lead-model.ts';

export interface RunningFunnelgate {
  database: DatabaseHandle;
  server: App | undefined;
  worker: WorkerHandle | undefined;
  url: string | undefined;
  firstAdmin: { email: string; token: string } | undefined;
  /** Set when this start filled an empty database with the simulated demo company. */
  demo?: { accounts: number; events: number } | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  http: boolean;
  worker: boolean;
}

export async function startFunnelgate(
  config: Config,
  logger: Logger,
  options: StartOptions,
): Promise<RunningFunnelgate> {
  const database = await openDatabase(config, logger);
  let worker: WorkerHandle | undefined;
  let server: App | undefined;
  try {
    await migrateToLatest(database.db, database.pool, logger);
    // Only a process that prints to a person creates the first admin, so its token is never created unseen.
    const admin = options.http
      ? await ensureFirstAdmin(database.db, config.bootstrapToken)
      : ({ created: false } as const);

    // A fresh install is governed from its first proposal: the shipped default policy becomes version 1.
    await ensureDefaultPolicy(database.db);
    let demo: { accounts: number; events: number } | undefined;
    if (options.http && config.demoData) {
      const seeded = await seedDemoDataIfEmpty({ db: database.db, logger, now: new Date() });
      if (seeded) {
        demo = { accounts: seeded.groundTruth.summary.accounts, events: seeded.sent };
        // The demo company has a year of outcomes: start with a trained champion rather than the prior.
        await trainLeadModel(database.db, { by: 'system (demo data)' }).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not train a first model on the demo data; the prior scores'),
        );
      }
    }

    if (options.worker) {
      worker = await startWorker({
        db: database.db,
        pool: database.pool,
        logger,
        concurrency: config.workerConcurrency,
      });
    }
    let url: string | undefined;
    if (options.http) {
      const metrics = createMetrics({ db: database.db });
      server = await buildServer({
        config,
        db: database.db,
        logger,
        metrics,
        readiness: () => checkReadiness(database, worker, options.worker),
      });
      url = await server.listen({ port: config.port, host: config.host });
      url = url.replace('://127.0.0.1', '://localhost');
    }
    let stopping: Promise<void> | undefined;
    return {
      database,
      server,
      worker,
      url,
      firstAdmin: admin.created ? { email: admin.email, token: admin.token } : undefined,
      demo,
      stop() {
        stopping ??= (async () => {
          // Order matters: stop taking requests (finishing those in flight), let running jobs finish, then
          // close the pool and the embedded database.
          await server?.close();
          await worker?.stop();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await server?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
}

async function checkReadiness(
  database: DatabaseHandle,
  worker: WorkerHandle | undefined,
  workerExpected: boolean,
): Promise<Readiness> {
  const checks: Readiness['checks'] = {};
  try {
    await sql`select 1`.execute(database.db);
    checks['database'] = { ok: true };
    const status = await migrationStatus(database.db);
    checks['migrations'] =
      status.pending.length === 0
        ? { ok: true, detail: `${status.applied.length} applied` }
        : { ok: false, detail: `pending: ${status.pending.join(', ')}` };
  } catch (error) {
    checks['database'] = { ok: false, detail: (error as Error).message };
  }
  checks['worker'] = workerExpected
    ? {
        ok: Boolean(worker?.running),
        ...(worker?.running ? {} : { detail: 'the job worker is not running' }),
      }
    : { ok: true, detail: 'this process runs no worker (started with --no-worker)' };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
