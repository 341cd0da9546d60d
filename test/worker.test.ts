// Several graphile-worker processes on one database share the queue: every job runs exactly once, a stop lets
// the job in flight finish, and a job whose payload does not match its schema fails with a clear error.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDb, createPool, type Db } from '../src/db/database.ts';
import { enqueueJob } from '../src/jobs/enqueue.ts';
import { defineJob, type AnyJobDefinition } from '../src/jobs/task-list.ts';
import { startWorker, type WorkerHandle } from '../src/jobs/worker.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const logger = createLogger({ logLevel: 'silent' });

let database: TestDatabase;
// Every worker and pool a test opens; stopped and closed after each test even when it fails half-way.
const workers: WorkerHandle[] = [];
const extraDbs: Db[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await sql`
    create table job_runs (
      job_number integer not null,
      worker text not null,
      stage text not null default 'done',
      ran_at timestamptz not null default clock_timestamp()
    )
  `.execute(database.db);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(extraDbs.splice(0).map((db) => db.destroy()));
  await sql`truncate job_runs`.execute(database.db);
  await sql`delete from graphile_worker._private_jobs`.execute(database.db);
});

afterAll(async () => {
  await database?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordJob(label: string, sleepMs: number) {
  return defineJob({
    id: 'test_record',
    schema: z.object({ n: z.number().int().nonnegative(), sleepMs: z.number().int().optional() }),
    async handler(payload, { db }) {
      await sql`insert into job_runs (job_number, worker, stage) values (${payload.n}, ${label}, 'started')`.execute(
        db,
      );
      await sleep(payload.sleepMs ?? sleepMs);
      await sql`insert into job_runs (job_number, worker, stage) values (${payload.n}, ${label}, 'done')`.execute(
        db,
      );
    },
  });
}

/** A worker with its own pool, as a separate `funnelgate worker` process would have. */
async function worker(label: string, jobs: AnyJobDefinition[]): Promise<WorkerHandle> {
  const pool = createPool(database.url, 4);
  const db = createDb(pool);
  extraDbs.push(db);
  const handle = await startWorker({ db, pool, logger, concurrency: 2, jobs, pollIntervalMs: 50 });
  workers.push(handle);
  return handle;
}

async function doneRuns(): Promise<{ job_number: number; worker: string }[]> {
  const result = await sql<{ job_number: number; worker: string }>`
    select job_number, worker from job_runs where stage = 'done' order by job_number
  `.execute(database.db);
  return result.rows;
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function pendingJobs(): Promise<number> {
  const result = await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs`.execute(
    database.db,
  );
  return Number(result.rows[0]!.n);
}

describe('several workers on one database', () => {
  it('run every job exactly once and share the work', async () => {
    const jobCount = 60;
    await worker('a', [recordJob('a', 30)]);
    await worker('b', [recordJob('b', 30)]);

    await database.db.transaction().execute(async (trx) => {
      for (let n = 0; n < jobCount; n++) await enqueueJob(trx, 'test_record', { n });
    });
    await waitFor(async () => (await doneRuns()).length >= jobCount && (await pendingJobs()) === 0, 'jobs');
    // Give a duplicate run (if there were one) the time to show up.
    await sleep(300);

    const runs = await doneRuns();
    expect(runs.map((r) => r.job_number)).toEqual(Array.from({ length: jobCount }, (_, n) => n));
    const byWorker = new Map<string, number>();
    for (const run of runs) byWorker.set(run.worker, (byWorker.get(run.worker) ?? 0) + 1);
    expect(byWorker.get('a')).toBeGreaterThan(0);
    expect(byWorker.get('b')).toBeGreaterThan(0);
    expect(await pendingJobs()).toBe(0);
  });

  it('lets a job in flight finish when stopped', async () => {
    const handle = await worker('slow', [recordJob('slow', 500)]);
    await enqueueJob(database.db, 'test_record', { n: 1 });
    await waitFor(async () => {
      const started = await sql`select 1 from job_runs where stage = 'started'`.execute(database.db);
      return started.rows.length > 0;
    }, 'the job to start');

    await handle.stop();

    expect(handle.running).toBe(false);
    expect(await doneRuns()).toEqual([{ job_number: 1, worker: 'slow' }]);
    // Finished, so it left the queue instead of waiting to be retried.
    expect(await pendingJobs()).toBe(0);
  });

  it('fails a job with an invalid payload with an error naming the job', async () => {
    await worker('a', [recordJob('a', 0)]);
    await enqueueJob(database.db, 'test_record', { n: 'seven' }, { maxAttempts: 1 });
    await waitFor(async () => {
      const failed = await sql<{ last_error: string | null }>`
        select last_error from graphile_worker.jobs where task_identifier = 'test_record'
      `.execute(database.db);
      return Boolean(failed.rows[0]?.last_error);
    }, 'the job to fail');

    const job = await sql<{ last_error: string; attempts: number; max_attempts: number }>`
      select last_error, attempts, max_attempts from graphile_worker.jobs where task_identifier = 'test_record'
    `.execute(database.db);
    expect(job.rows).toHaveLength(1);
    expect(job.rows[0]!.attempts).toBe(1);
    expect(job.rows[0]!.last_error).toContain('Job test_record has an invalid payload');
    expect(job.rows[0]!.last_error).toMatch(/\bn\b/);
    expect(await doneRuns()).toEqual([]);
  });
});
