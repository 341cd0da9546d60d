// graphile-worker inside `funnelgate start`, or alone as `funnelgate worker`. Several workers on one database
// share the queue through SKIP LOCKED; nothing about a job lives only in this process.
import { run, type Runner } from 'graphile-worker';
import type pg from 'pg';
import type { Db } from '../db/database.ts';
import { workerLogger } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { buildTaskList, type AnyJobDefinition } from './task-list.ts';
import { jobs as defaultJobs } from './jobs.ts';
import { schedules } from './schedules.ts';

export interface WorkerHandle {
  readonly running: boolean;
  stop(): Promise<void>;
}

export async function startWorker(options: {
  db: Db;
  pool: pg.Pool;
  logger: Logger;
  concurrency: number;
  jobs?: readonly AnyJobDefinition[];
  pollIntervalMs?: number;
}): Promise<WorkerHandle> {
  const logger = options.logger.child({ component: 'worker' });
  const taskList = buildTaskList(options.jobs ?? defaultJobs, { db: options.db, logger });
  const runner: Runner = await run({
    pgPool: options.pool,
    taskList,
    concurrency: options.concurrency,
    noHandleSignals: true,
    // Schedules are registered in code (jobs/schedules), never read from a crontab file.
    parsedCronItems: options.jobs ? [] : schedules(),
    pollInterval: options.pollIntervalMs ?? 1000,
    // Batchers (delay 0; the default -1 has none) make stop() wait until the last jobs' completion or failure is
    // written. Without them stop() can resolve first and the pool close under that write, leaving a finished
    // job locked, to run again when its lock expires (4 h).
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    logger: workerLogger(logger),
  });
  let running = true;
  runner.promise.then(
    () => {
      running = false;
    },
    (error: unknown) => {
      running = false;
      logger.error({ err: error }, 'worker stopped with an error');
    },
  );
  return {
    get running() {
      return running;
    },
    async stop() {
      if (!running) return;
      // Waits for jobs in flight to finish; graphile-worker releases anything it has not started.
      await runner.stop();
      running = false;
    },
  };
}
