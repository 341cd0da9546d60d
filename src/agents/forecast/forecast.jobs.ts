// Scheduled runs of the two pipeline agents: bottleneck detection every morning (findings stored, remediations
// proposed through the gate) and a stored forecast every day for each period kind, so that week-over-week
// changes and forecast errors have runs to compare.
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { loadConfig } from '../../config.ts';
import { defineJob } from '../../jobs/task-list.ts';
import { runBottleneckDetection } from '../bottleneck/run-bottlenecks.ts';
import { PERIOD_KINDS } from './periods.ts';
import { runForecast } from './run-forecast.ts';

export const BOTTLENECKS_JOB = 'agents.bottlenecks';
export const FORECAST_JOB = 'agents.forecast';

export const bottlenecksJob = defineJob({
  id: BOTTLENECKS_JOB,
  schema: z.object({ object: z.enum(['opportunity', 'contact']).default('opportunity') }),
  async handler(payload, context) {
    // Jobs receive no config yet (see agents.jobs.ts): the connector comes from the worker's settings.
    const result = await runBottleneckDetection(context.db, {
      object: payload.object,
      connector: loadConfig().executionConnector,
    });
    context.logger.info(
      { tests: result.report.tests, findings: result.findings.length, resolved: result.resolved },
      'bottleneck detection done',
    );
  },
});

export const forecastJob = defineJob({
  id: FORECAST_JOB,
  schema: z.object({ period: z.enum(PERIOD_KINDS).default('quarter') }),
  async handler(payload, context) {
    const forecast = await runForecast(context.db, { kind: payload.period, by: 'system' });
    context.logger.info(
      { run: forecast.run_id, periods: forecast.periods.map((p) => [p.label, p.expected]) },
      'forecast stored',
    );
  },
});

export const forecastJobs = [bottlenecksJob, forecastJob];

export const FORECAST_SCHEDULES: CronItem[] = [
  {
    task: BOTTLENECKS_JOB,
    match: '23 5 * * *',
    identifier: 'agents-bottlenecks',
    options: { backfillPeriod: 0 },
  },
  {
    task: FORECAST_JOB,
    match: '53 5 * * *',
    identifier: 'agents-forecast-quarter',
    options: { backfillPeriod: 0 },
    payload: { period: 'quarter' },
  },
  {
    task: FORECAST_JOB,
    match: '57 5 * * *',
    identifier: 'agents-forecast-month',
    options: { backfillPeriod: 0 },
    payload: { period: 'month' },
  },
];
