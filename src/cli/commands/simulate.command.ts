import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { AppError } from '../../errors.ts';
import {
  DEFAULT_SIMULATION_BATCH_SIZE,
  httpSink,
  inProcessSink,
  natsSink,
  runSimulation,
  type EventSink,
  type SimulationProgress,
  type SimulationRunResult,
} from '../../ingest/simulator/run.ts';
import { plantTreatmentEffect, type PlantedTreatment } from '../../ingest/simulator/treatment.ts';
import { createExperiment } from '../../feedback/experiments.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult } from '../output.ts';

const CHANNELS = ['inprocess', 'http', 'nats'] as const;
type Channel = (typeof CHANNELS)[number];

interface SimulateOptions {
  accounts: string;
  months: string;
  seed: string;
  now?: string;
  source: string;
  via: Channel;
  url?: string;
  token?: string;
  natsUrl?: string;
  subject: string;
  bottleneck: boolean;
  seasonality: boolean;
  batchSize: string;
  groundTruth?: string;
  json?: boolean;
  treatmentUplift?: string;
  experiment: string;
  holdoutShare: string;
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description(
      'Generate a realistic B2B funnel (accounts, buying committees, reps, email/web/meeting/support activity, ' +
        'leads -> SQL -> opportunities -> won/lost) with known ground truth, and send it through the real ' +
        'ingestion path. The same seed and settings give the same events, so a second run is all duplicates.',
    )
    .option('--accounts <n>', 'accounts to simulate', '200')
    .option('--months <n>', 'months of history, ending now', '12')
    .option('--seed <n>', 'random seed', '42')
    .option('--now <time>', 'end of the simulated period, RFC 3339 (default: the current time)')
    .option('--source <name>', 'the source name the events carry', 'simulator')
    .addOption(
      new Option(
        '--via <channel>',
        'how events are sent: straight into ingestion, over HTTP, or through NATS',
      )
        .choices(CHANNELS)
        .default('inprocess'),
    )
    .option('--url <url>', 'Funnelgate base URL for --via http (default: http://HOST:PORT from the settings)')
    .option('--token <token>', 'API token with the ingest or admin role, for --via http')
    .option(
      '--nats-url <urls>',
      'NATS server URL(s) for --via nats (default: NATS_URL or nats://127.0.0.1:4222)',
    )
    .option('--subject <subject>', 'JetStream subject for --via nats', 'funnelgate.events')
    .option('--no-bottleneck', 'do not plant the slow "proposal" stage in EMEA')
    .option('--no-seasonality', 'no monthly arrival pattern and no quarter-end pull-in')
    .option('--batch-size <n>', 'events per batch', String(DEFAULT_SIMULATION_BATCH_SIZE))
    .option('--ground-truth <file>', 'also write the ground truth as JSON to this file')
    .option(
      '--treatment-uplift <share>',
      'plant a treatment effect: this share of treatment-arm leads that did not become SQL do (in-process only)',
    )
    .option(
      '--experiment <name>',
      'the holdout experiment of --treatment-uplift (created if missing)',
      'simulated-holdout',
    )
    .option('--holdout-share <share>', 'holdout share when --treatment-uplift creates the experiment', '0.2')
    .option('--json', 'print the summary as JSON')
    .action(async (options: SimulateOptions) => {
      const params = {
        accounts: wholeNumber(options.accounts, '--accounts', 1, 1_000_000),
        months: wholeNumber(options.months, '--months', 1, 120),
        seed: wholeNumber(options.seed, '--seed', 0, 2_147_483_647),
        now: options.now ? parseTime(options.now) : new Date(),
        source: options.source,
        seasonality: options.seasonality,
        ...(options.bottleneck ? {} : { bottleneck: null }),
      };
      const batchSize = wholeNumber(options.batchSize, '--batch-size', 1, 10_000);
      const uplift =
        options.treatmentUplift === undefined ? null : share(options.treatmentUplift, '--treatment-uplift');
      if (uplift !== null && options.via !== 'inprocess')
        throw new AppError(
          'bad_request',
          '--treatment-uplift needs --via inprocess (it reads the stored leads)',
        );
      if (options.via === 'http' && !options.token) {
        throw new AppError(
          'bad_request',
          '--via http needs --token: an API token with the ingest or admin role (funnelgate token create)',
        );
      }
      await withDatabase(
        async ({ config, database }) => {
          const sink = createSink(options, {
            url: options.url ?? `http://${config.host}:${config.port}`,
            natsUrl: config.natsUrl,
            db: database.db,
          });
          const progress = options.json || !process.stderr.isTTY ? undefined : progressBar(params.accounts);
          let result: SimulationRunResult;
          try {
            result = await runSimulation({
              db: database.db,
              params,
              sink,
              batchSize,
              ...(progress ? { onProgress: progress.update } : {}),
            });
          } finally {
            progress?.stop();
            await sink.close?.();
          }
          if (options.groundTruth) {
            await writeFile(options.groundTruth, `${JSON.stringify(result.groundTruth, null, 2)}\n`);
          }
          let treatment: PlantedTreatment | null = null;
          if (uplift !== null) {
            const found = await database.db
              .selectFrom('experiments')
              .select('id')
              .where('name', '=', options.experiment)
              .executeTakeFirst();
            if (!found)
              await createExperiment(
                database.db,
                {
                  name: options.experiment,
                  holdoutShare: share(options.holdoutShare, '--holdout-share'),
                  description: 'holdout experiment of a simulation with a planted treatment effect',
                  startedAt: result.params.startDate,
                  // From the seed: the same simulation gives the same arms.
                  salt: `simulation-${result.params.seed}`,
                },
                { name: cliActor() },
              );
            treatment = await plantTreatmentEffect(database.db, {
              experiment: options.experiment,
              uplift,
              source: result.params.source,
              now: result.params.now,
              seed: result.params.seed,
            });
          }
          printResult(
            Boolean(options.json),
            { ...toJson(result, options), ...(treatment ? { treatment } : {}) },
            () =>
              describe(result, options) +
              (treatment
                ? `\n  planted treatment effect (experiment ${treatment.experiment}): ${treatment.converted_by_treatment} of ${treatment.treatment_leads} treatment leads converted by it; expected lift in conversion to SQL ${(treatment.expected_lift * 100).toFixed(1)} points`
                : ''),
          );
        },
        { ...(options.natsUrl ? { natsUrl: options.natsUrl } : {}) },
      );
    });
}

function createSink(
  options: SimulateOptions,
  context: { url: string; natsUrl: string; db: Parameters<typeof inProcessSink>[0] },
): EventSink {
  switch (options.via) {
    case 'inprocess':
      return inProcessSink(context.db, { description: `funnelgate simulate --seed ${options.seed}` });
    case 'http':
      return httpSink(context.url, options.token!);
    case 'nats':
      return natsSink(context.natsUrl, options.subject);
  }
}

function progressBar(totalAccounts: number) {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        'simulating |{bar}| {percentage}% | {value}/{total} accounts | {events} events | {rate} events/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalAccounts, 0, { events: 0, rate: 0 });
  return {
    update: (p: SimulationProgress) =>
      bar.update(p.accounts, {
        events: p.sent.toLocaleString('en-US'),
        rate: Math.round(p.sent / Math.max(0.001, p.elapsedMs / 1000)).toLocaleString('en-US'),
      }),
    stop: () => bar.stop(),
  };
}

function toJson(result: SimulationRunResult, options: SimulateOptions) {
  return {
    run_id: result.runId,
    via: options.via,
    seed: result.params.seed,
    accounts: result.params.accounts,
    months: result.params.months,
    start: result.params.startDate.toISOString(),
    now: result.params.now.toISOString(),
    source: result.params.source,
    sent: result.sent,
    ...(result.reported
      ? { accepted: result.accepted, duplicate: result.duplicate, quarantined: result.quarantined }
      : {}),
    problems: result.problems,
    duration_ms: result.durationMs,
    summary: result.groundTruth.summary,
    bottleneck: result.groundTruth.bottleneck,
    ...(options.groundTruth ? { ground_truth_file: options.groundTruth } : {}),
  };
}

function describe(result: SimulationRunResult, options: SimulateOptions): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const { params, groundTruth } = result;
  const summary = groundTruth.summary;
  const seconds = result.durationMs / 1000;
  const via = { inprocess: 'in-process', http: 'over HTTP', nats: 'to NATS' }[options.via];
  const lines = [
    `Simulated ${n(params.accounts)} accounts over ${params.months} months (seed ${params.seed}, ` +
      `${params.startDate.toISOString().slice(0, 10)} .. ${params.now.toISOString().slice(0, 10)}): ` +
      `${n(result.sent)} events sent ${via} in ${seconds.toFixed(1)} s ` +
      `(${n(Math.round(result.sent / Math.max(seconds, 0.001)))} events/s).`,
  ];
  if (result.reported) {
    lines.push(
      `  accepted ${n(result.accepted)}, duplicate ${n(result.duplicate)}, quarantined ${n(result.quarantined)}`,
    );
  } else {
    lines.push(`  published to JetStream subject "${options.subject}"; the NATS consumer stores them`);
  }
  for (const problem of result.problems) lines.push(`  quarantined: ${problem}`);
  lines.push(
    `  contacts ${n(summary.contacts)} (${n(summary.freeMailContacts)} with free-mail addresses); ` +
      `SQL within 30 days: ${n(summary.sqlWithin30Days)} of ${n(summary.leadsLabelled)} labelled leads ` +
      `(${(summary.observedSqlRate * 100).toFixed(1)} %)`,
    `  opportunities ${n(summary.opportunities)}: ${n(summary.won)} won, ${n(summary.lost)} lost, ${n(summary.open)} open`,
    `  strongest lead drivers: ${groundTruth.leadModel.drivers
      .slice(0, 4)
      .map((d) => d.feature)
      .join(', ')}`,
  );
  const bottleneck = groundTruth.bottleneck;
  lines.push(
    bottleneck
      ? `  planted bottleneck: "${bottleneck.stage}" in ${bottleneck.region} from ${bottleneck.startDate.slice(0, 10)}, ` +
          `${bottleneck.slowdownFactor}x slower`
      : '  no planted bottleneck',
    `  ground truth: simulation_runs ${result.runId}${options.groundTruth ? ` and ${options.groundTruth}` : ''}`,
  );
  return lines.join('\n');
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new AppError('bad_request', `${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return number;
}

function parseTime(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new AppError(
      'bad_request',
      `--now must be a date or time such as 2025-06-30T00:00:00Z, not "${value}"`,
    );
  }
  return date;
}

function share(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value >= 1)
    throw new AppError(
      'validation_failed',
      `${flag} must be a share between 0 and 1, e.g. 0.15 (got "${text}")`,
    );
  return value;
}
