// Ingestion wakes the feature refresh after it commits, writing the job's row only when no job is waiting to
// start: concurrent chunks must not all update that one row (each would wait for the other's commit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ingestCloudEvents } from '../../src/ingest/ingest-events.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import { schedules } from '../../src/jobs/schedules.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { cloudEvent } from '../helpers/events.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await ensureSource(database.db, { name: 'test-crm' });
});
afterAll(async () => database?.drop());

async function refreshJobs() {
  const jobs = await sql<{ run_at: Date; revision: number }>`
    select run_at, revision from graphile_worker.jobs where task_identifier = 'features.refresh'`.execute(
    database.db,
  );
  return jobs.rows;
}

async function ingest(email: string) {
  const report = await ingestCloudEvents(database.db, [cloudEvent('email.opened', { contact: { email } })], {
    channel: 'http',
  });
  expect(report.accepted).toBe(1);
}

describe('waking the feature refresh', () => {
  it('wakes the job after a commit, leaves a job that has not started alone, and wakes again once it ran', async () => {
    const before = Date.now();
    await ingest('one@acme.com');
    const [first, ...more] = await refreshJobs();
    expect(more).toEqual([]);
    expect(first!.run_at.getTime()).toBeGreaterThanOrEqual(before + 900);
    expect(first!.run_at.getTime()).toBeLessThanOrEqual(Date.now() + 1100);

    // A job not due yet will see this commit: it is not touched (an add_job would have raised its revision).
    await ingest('two@acme.com');
    expect(await refreshJobs()).toEqual([first]);

    // Due now, but no worker has taken it yet: it will still see the next commit, so it is left alone too.
    await new Promise((r) => setTimeout(r, Math.max(0, first!.run_at.getTime() - Date.now() + 50)));
    await ingest('three@acme.com');
    expect(await refreshJobs()).toEqual([first]);

    // The job ran (a worker took it away): the next commit wakes a new one.
    await sql`delete from graphile_worker._private_jobs`.execute(database.db);
    await ingest('four@acme.com');
    expect(await refreshJobs()).toHaveLength(1);

    const dirty = await sql<{ n: string }>`select count(*) as n from dirty_contacts`.execute(database.db);
    expect(Number(dirty.rows[0]!.n)).toBe(4);
  });

  it('has a minute cron as the safety net', () => {
    const sweep = schedules().find((item) => item.identifier === 'features-refresh-sweep');
    expect(sweep?.task).toBe('features.refresh');
  });
});
