// The review SLA timers as a job: the cron item in jobs/schedules.ts runs it every minute (one run per slot
// across all workers); running it more often or twice is harmless.
import { z } from 'zod';
import { defineJob } from '../jobs/task-list.ts';
import { runDeadlines } from './deadlines.ts';

export const REVIEW_DEADLINES_JOB = 'review.deadlines';

export const reviewDeadlinesJob = defineJob({
  id: REVIEW_DEADLINES_JOB,
  schema: z.object({}),
  handler: async (_payload, { db, logger }) => {
    const run = await runDeadlines(db);
    const escalated = Object.values(run.escalations).reduce((a, b) => a + b, 0);
    if (run.expired || run.denied || escalated || run.claims_released)
      logger.info(run, 'review deadlines applied');
  },
});

export const reviewJobs = [reviewDeadlinesJob];
