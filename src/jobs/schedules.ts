// Recurring jobs, in code (graphile-worker cron; one run per slot across all workers).
import { parseCronItems, type ParsedCronItem } from 'graphile-worker';
import { DELIVER_CRON } from '../execution/execution.jobs.ts';
import { FEATURES_REFRESH_CRON } from '../features/features.jobs.ts';
import { AGENT_SCHEDULES } from '../agents/agents.jobs.ts';
import { FORECAST_SCHEDULES } from '../agents/forecast/forecast.jobs.ts';
import { FEEDBACK_SCHEDULES } from '../feedback/feedback.jobs.ts';
import { MONITORING_SCHEDULES } from '../monitoring/monitoring.jobs.ts';

export function schedules(): ParsedCronItem[] {
  return parseCronItems([
    // Nightly retraining at 03:17 UTC; a missed run is not backfilled (the next night trains on more data).
    {
      task: 'models.retrain',
      match: '17 3 * * *',
      identifier: 'nightly-retrain',
      options: { backfillPeriod: 0 },
      payload: { kind: 'gbt' },
    },
    // Deliveries wake themselves (on write, and at the next due retry); the minute cron is the safety net.
    DELIVER_CRON,
    // Feature refreshes are woken by ingestion; the minute cron is the safety net.
    FEATURES_REFRESH_CRON,
    // Review SLA timers: deadlines fail closed, escalation steps, expired claims. A missed minute is not
    // backfilled: the next run handles everything that is due by then.
    {
      task: 'review.deadlines',
      match: '* * * * *',
      identifier: 'review-deadlines',
      options: { backfillPeriod: 0 },
    },
    ...AGENT_SCHEDULES,
    ...FORECAST_SCHEDULES,
    ...FEEDBACK_SCHEDULES,
    ...MONITORING_SCHEDULES,
  ]);
}
