import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * Adds a job in the caller's transaction, so the job exists exactly when the rows it concerns do.
 * `jobKey` deduplicates: a second add with the same key replaces the pending job instead of adding another.
 */
export async function enqueueJob(
  db: Db,
  taskId: string,
  payload: unknown,
  options: {
    runAt?: Date;
    jobKey?: string;
    /** 'replace' (default) debounces: the pending job moves to the new run_at; 'preserve_run_at' throttles. */
    jobKeyMode?: 'replace' | 'preserve_run_at';
    maxAttempts?: number;
    priority?: number;
  } = {},
): Promise<void> {
  await sql`select graphile_worker.add_job(
    identifier => ${taskId}::text,
    payload => ${JSON.stringify(payload)}::json,
    run_at => ${options.runAt ?? null}::timestamptz,
    job_key => ${options.jobKey ?? null}::text,
    job_key_mode => ${options.jobKeyMode ?? 'replace'}::text,
    max_attempts => ${options.maxAttempts ?? 25}::int,
    priority => ${options.priority ?? 0}::int
  )`.execute(db);
}
