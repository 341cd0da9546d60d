// The delivery job. Woken in the transaction that writes an outbox row (outbox.ts), by its own follow-up at the
// next due retry, and by a cron every minute as a safety net.
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { defineJob } from '../jobs/task-list.ts';
import { nextDeliveryDueAt, runDeliveries } from './deliver.ts';
import { DELIVER_JOB } from './outbox.ts';
import { executionSettings, type ExecutionSettings } from './settings.ts';

/** One run claims for at most this long; a longer backlog continues in the next run. */
const RUN_BUDGET_MS = 4 * 60_000;

export const DELIVER_CRON: CronItem = {
  task: DELIVER_JOB,
  match: '* * * * *',
  identifier: 'execution-deliver',
  options: { backfillPeriod: 0 },
  payload: {},
};

/** The job with the given settings (tests); the registered job reads them from the configuration when it runs. */
export function deliverJobWith(settingsFor: () => ExecutionSettings) {
  return defineJob({
    id: DELIVER_JOB,
    schema: z.object({}),
    async handler(_payload, { db, logger }, helpers) {
      const summary = await runDeliveries(db, settingsFor(), {
        signal: helpers.abortSignal,
        deadline: Date.now() + RUN_BUDGET_MS,
        logger,
      });
      if (Object.values(summary).some((n) => n > 0)) logger.info(summary, 'delivery run');
      const next = await nextDeliveryDueAt(db);
      if (next) {
        await enqueueJob(
          db,
          DELIVER_JOB,
          {},
          { runAt: next, jobKey: `${DELIVER_JOB}:next`, jobKeyMode: 'replace' },
        );
      }
    },
  });
}

export const deliverJob = deliverJobWith(() => executionSettings(loadConfig()));

export const executionJobs = [deliverJob];
