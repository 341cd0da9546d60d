// Feedback as jobs: outcomes are linked every minute (incremental: only events after the cursor), and the
// KPI gauges are recomputed every 15 minutes. Both are safe to run twice or at once.
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { defineJob } from '../jobs/task-list.ts';
import { refreshKpiGauges } from './kpi-gauges.ts';
import { linkOutcomes } from './link-outcomes.ts';

export const LINK_OUTCOMES_JOB = 'feedback.link_outcomes';
export const KPI_GAUGES_JOB = 'feedback.kpi_gauges';

let windowDays: number | undefined;
/** Jobs receive no config (JobContext is { db, logger }); read once from the settings the worker started with. */
const attributionWindow = () => (windowDays ??= loadConfig().attributionWindowDays);

export const linkOutcomesJob = defineJob({
  id: LINK_OUTCOMES_JOB,
  schema: z.object({ backfill: z.boolean().default(false) }),
  async handler(payload, { db, logger }) {
    const summary = await linkOutcomes(db, { windowDays: attributionWindow(), backfill: payload.backfill });
    if (summary.outcomes || summary.links) logger.info(summary, 'outcomes linked');
  },
});

export const kpiGaugesJob = defineJob({
  id: KPI_GAUGES_JOB,
  schema: z.object({}),
  async handler(_payload, { db }) {
    await refreshKpiGauges(db, { windowDays: attributionWindow() });
  },
});

export const feedbackJobs = [linkOutcomesJob, kpiGaugesJob];

export const FEEDBACK_SCHEDULES: CronItem[] = [
  {
    task: LINK_OUTCOMES_JOB,
    match: '* * * * *',
    identifier: 'feedback-link-outcomes',
    options: { backfillPeriod: 0 },
    payload: {},
  },
  {
    task: KPI_GAUGES_JOB,
    match: '*/15 * * * *',
    identifier: 'feedback-kpi-gauges',
    options: { backfillPeriod: 0 },
  },
];
