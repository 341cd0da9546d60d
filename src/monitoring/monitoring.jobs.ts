// Monitoring on a schedule: drift, calibration, freshness and error rates every 15 minutes. A missed slot is
// not backfilled; the next run measures the same things.
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import { defineJob } from '../jobs/task-list.ts';
import { runMonitoring, type MonitoringSettings } from './run-monitoring.ts';

export const MONITORING_JOB = 'monitoring.run';

let settings: MonitoringSettings | undefined;

export const monitoringJob = defineJob({
  id: MONITORING_JOB,
  schema: z.object({}),
  async handler(_payload, { db, logger }) {
    settings ??= loadConfig();
    const report = await runMonitoring(db, settings);
    const { opened, resolved, tripped } = report.alarms;
    if (opened.length || resolved.length || tripped)
      logger.warn({ opened: opened.length, resolved: resolved.length, tripped }, 'monitoring alarms changed');
  },
});

export const monitoringJobs = [monitoringJob];

export const MONITORING_SCHEDULES: CronItem[] = [
  {
    task: MONITORING_JOB,
    match: '*/15 * * * *',
    identifier: 'monitoring-run',
    options: { backfillPeriod: 0 },
  },
];
