// Feedback from the command line: `report roi|kpis|reviewers`, `experiment start|list|stop|lift`, and
// `feedback link` (link outcomes now, or re-link the whole history with --backfill).
import { Command } from 'commander';
import { AppError } from '../../errors.ts';
import {
  experimentLift,
  roiReport,
  type ExperimentLift,
  type RoiReport,
} from '../../feedback/experiment-report.ts';
import { createExperiment, listExperiments, stopExperiment } from '../../feedback/experiments.ts';
import { computeKpis, KPI_BUCKETS, KPI_GROUPS, type KpiBucket, type KpiGroup } from '../../feedback/kpis.ts';
import { linkOutcomes } from '../../feedback/link-outcomes.ts';
import { reviewerWorkload } from '../../feedback/reviewer-workload.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { printResult, table } from '../output.ts';

const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)} %`;
const pts = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`;
const days = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;

export function reportCommand(): Command {
  const command = new Command('report').description(
    'Reports: ROI against the holdout, KPIs, reviewer workload',
  );
  command
    .command('roi')
    .description(
      'The effect on conversion and cycle time, treatment against holdout, with 95 % intervals, and the human hours spent in review',
    )
    .option('--since <duration>', 'how far back, e.g. 90d', '90d')
    .option('--experiment <name>', 'one experiment (default: all)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { since: string; experiment?: string; json?: boolean }) => {
      const since = new Date(Date.now() - parseDuration(options.since, '--since'));
      await withDatabase(async ({ database }) => {
        const report = await roiReport(database.db, {
          since,
          ...(options.experiment ? { experiment: options.experiment } : {}),
        });
        printResult(Boolean(options.json), report, () => describeRoi(report, options.since));
      });
    });
  command
    .command('kpis')
    .description('KPIs per bucket and group')
    .option('--since <duration>', 'how far back', '90d')
    .option('--bucket <bucket>', KPI_BUCKETS.join(' | '), 'month')
    .option('--group-by <group>', KPI_GROUPS.join(' | '), 'none')
    .option('--json', 'print the result as JSON')
    .action(async (options: { since: string; bucket: string; groupBy: string; json?: boolean }) => {
      if (!KPI_BUCKETS.includes(options.bucket as KpiBucket))
        throw new AppError('validation_failed', `--bucket must be one of ${KPI_BUCKETS.join(', ')}`);
      if (!KPI_GROUPS.includes(options.groupBy as KpiGroup))
        throw new AppError('validation_failed', `--group-by must be one of ${KPI_GROUPS.join(', ')}`);
      await withDatabase(async ({ database, config }) => {
        const to = new Date();
        const report = await computeKpis(database.db, {
          from: new Date(to.getTime() - parseDuration(options.since, '--since')),
          to,
          bucket: options.bucket as KpiBucket,
          groupBy: options.groupBy as KpiGroup,
          windowDays: config.attributionWindowDays,
        });
        printResult(Boolean(options.json), report, () =>
          table(
            report.rows.map((r) => ({
              bucket: r.bucket,
              group: r.group,
              auto_precision: pct(r.auto_precision),
              reviews: r.reviews,
              approve: pct(r.approve_rate),
              reject: pct(r.reject_rate),
              edit: pct(r.edit_rate),
              leads: r.leads,
              to_sql: pct(r.lead_to_sql_rate),
              to_opp: pct(r.lead_to_opportunity_rate),
              h_to_engage: r.median_hours_to_first_engagement ?? '-',
              lost_opp: pct(r.lost_opportunity_rate),
            })),
            [
              'bucket',
              'group',
              'auto_precision',
              'reviews',
              'approve',
              'reject',
              'edit',
              'leads',
              'to_sql',
              'to_opp',
              'h_to_engage',
              'lost_opp',
            ],
          ),
        );
      });
    });
  command
    .command('reviewers')
    .description('Reviewer workload and rubber-stamp signals')
    .option('--since <duration>', 'how far back', '30d')
    .option('--json', 'print the result as JSON')
    .action(async (options: { since: string; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const to = new Date();
        const items = await reviewerWorkload(database.db, {
          from: new Date(to.getTime() - parseDuration(options.since, '--since')),
          to,
        });
        printResult(Boolean(options.json), { items }, () =>
          table(
            items.map((r) => ({ ...r, approval_rate: pct(r.approval_rate), flags: r.flags.join(',') })),
            [
              'reviewer',
              'items',
              'items_per_day',
              'median_seconds_to_decide',
              'approval_rate',
              'fast_approvals',
              'queue',
              'queue_oldest_seconds',
              'flags',
            ],
          ),
        );
      });
    });
  return command;
}

function describeLift(lift: ExperimentLift): string[] {
  const s = lift.lead_to_sql;
  const o = lift.lead_to_opportunity;
  const c = lift.days_to_sql;
  const ci = (i: { low: number; high: number } | null, f: (v: number) => string) =>
    i ? `[95 % CI ${f(i.low)}, ${f(i.high)}]` : '[not enough data]';
  return [
    `Experiment ${lift.experiment.name} (${lift.experiment.status}, holdout ${pct(lift.experiment.holdout_share)}): ` +
      `${lift.subjects.treatment} treatment and ${lift.subjects.holdout} holdout leads since ${lift.from.slice(0, 10)}; ` +
      `${lift.decisions.holdout_blocked} holdout proposals recorded, none executed`,
    `  lead -> SQL (${s.horizon_days} d):          treatment ${pct(s.treatment.rate)} (n=${s.treatment.n}) vs holdout ${pct(s.holdout.rate)} (n=${s.holdout.n}): ${pts(s.difference)} points ${ci(s.interval, pts)}`,
    `  lead -> opportunity (${o.horizon_days} d):  treatment ${pct(o.treatment.rate)} (n=${o.treatment.n}) vs holdout ${pct(o.holdout.rate)} (n=${o.holdout.n}): ${pts(o.difference)} points ${ci(o.interval, pts)}`,
    `  days to SQL (median):         treatment ${c.treatment.median?.toFixed(1) ?? '-'} vs holdout ${c.holdout.median?.toFixed(1) ?? '-'}: ${days(c.difference)} days ${ci(c.interval, days)}`,
  ];
}

function describeRoi(report: RoiReport, since: string): string {
  const lines = [`ROI over the last ${since} (${report.since.slice(0, 10)} .. ${report.to.slice(0, 10)})`];
  if (report.experiments.length === 0)
    lines.push(
      'No holdout experiment: start one with `funnelgate experiment start <name> --holdout-share 0.1` to measure lift.',
    );
  for (const lift of report.experiments) lines.push(...describeLift(lift));
  lines.push(
    `Human review: ${report.review.reviews} reviews by ${report.review.reviewers} reviewer(s), ${report.review.hours.toFixed(2)} hours` +
      (report.review.estimated_reviews
        ? ` (${report.review.estimated_reviews} without a timer counted at the median)`
        : ''),
    `Automatic executions: ${report.automatic_executions}`,
    'Intervals: conversion differences by Newcombe hybrid score (Wilson); days to SQL by percentile bootstrap of the median difference.',
  );
  return lines.join('\n');
}

export function experimentCommand(): Command {
  const command = new Command('experiment').description(
    'Holdout experiments: a share of subjects left to business as usual',
  );
  command
    .command('start <name>')
    .requiredOption('--holdout-share <share>', 'share of subjects held out, e.g. 0.1')
    .option('--subject-type <type>', 'contact | account | opportunity', 'contact')
    .option('--description <text>', 'what it tests')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        name: string,
        options: { holdoutShare: string; subjectType: string; description?: string; json?: boolean },
      ) => {
        const share = Number(options.holdoutShare);
        if (!['contact', 'account', 'opportunity'].includes(options.subjectType))
          throw new AppError('validation_failed', '--subject-type must be contact, account or opportunity');
        await withDatabase(async ({ database }) => {
          const { salt: _salt, ...row } = await createExperiment(
            database.db,
            {
              name,
              holdoutShare: share,
              subjectType: options.subjectType as 'contact',
              description: options.description ?? null,
            },
            { name: cliActor() },
          );
          printResult(
            Boolean(options.json),
            row,
            () =>
              `Experiment ${row.name} started: ${pct(row.holdout_share)} of ${row.subject_type}s held out.`,
          );
        });
      },
    );
  command
    .command('list')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const items = (await listExperiments(database.db)).map(({ salt: _salt, ...e }) => e);
        printResult(Boolean(options.json), { items }, () =>
          table(items, ['name', 'status', 'holdout_share', 'subject_type', 'started_at', 'stopped_at']),
        );
      });
    });
  command
    .command('stop <name>')
    .requiredOption('--reason <text>', 'why')
    .action(async (name: string, options: { reason: string }) => {
      await withDatabase(async ({ database }) => {
        await stopExperiment(database.db, name, options.reason, { name: cliActor() });
        process.stdout.write(`Experiment ${name} stopped.\n`);
      });
    });
  command
    .command('lift <name>')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const lift = await experimentLift(database.db, { experiment: name });
        printResult(Boolean(options.json), lift, () => describeLift(lift).join('\n'));
      });
    });
  return command;
}

export function feedbackCommand(): Command {
  const command = new Command('feedback').description('Outcomes as labels');
  command
    .command('link')
    .description(
      'Read outcomes from new events and link them to the decisions before them (the job does this every minute)',
    )
    .option('--backfill', 're-read every event and re-link every outcome (safe to repeat)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { backfill?: boolean; json?: boolean }) => {
      await withDatabase(async ({ database, config }) => {
        const summary = await linkOutcomes(database.db, {
          windowDays: config.attributionWindowDays,
          backfill: Boolean(options.backfill),
        });
        printResult(
          Boolean(options.json),
          summary,
          () =>
            `${summary.outcomes} new outcome(s), ${summary.links} link(s) to decisions, ${summary.observed} decision(s) moved to outcome_observed.`,
        );
      });
    });
  return command;
}
