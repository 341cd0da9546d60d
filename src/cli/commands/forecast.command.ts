// `funnelgate forecast [--period quarter] [--backtest] [--scenario ...] [--changes]` and
// `funnelgate agents bottlenecks [--no-propose]`.
import { Command, Option } from 'commander';
import { runBottleneckDetection } from '../../agents/bottleneck/run-bottlenecks.ts';
import { PERIOD_KINDS, type PeriodKind } from '../../agents/forecast/periods.ts';
import { forecastChanges, runBacktest, runForecast } from '../../agents/forecast/run-forecast.ts';
import { AppError } from '../../errors.ts';
import { cliActor } from '../audit-actor.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';
import { progressBar } from '../progress.ts';

interface ForecastOptions {
  period: PeriodKind;
  asOf?: string;
  backtest?: boolean;
  periods: string;
  changes?: boolean;
  days: string;
  winRate: string;
  cycleTime: string;
  pipelineCreation: string;
  json?: boolean;
}

export function forecastCommand(): Command {
  return new Command('forecast')
    .description(
      'Won value forecast for the current and next period (time-to-event model per open deal, plus pipeline not ' +
        'created yet), with P10-P90; --backtest measures it on past periods, --changes explains the last week',
    )
    .addOption(new Option('--period <kind>', 'month or quarter').choices(PERIOD_KINDS).default('quarter'))
    .option('--as-of <iso>', 'forecast as of this time (default now)')
    .option(
      '--backtest',
      'forecast each of the last --periods periods as of its start and compare with the actual',
    )
    .option('--periods <n>', 'periods to backtest', '4')
    .option('--changes', 'what moved the forecast since the stored run --days before the latest')
    .option('--days <n>', 'for --changes', '7')
    .option('--win-rate <x>', 'scenario: multiply the chance of winning', '1')
    .option('--cycle-time <x>', 'scenario: multiply the time deals take', '1')
    .option('--pipeline-creation <x>', 'scenario: multiply new pipeline', '1')
    .option('--json', 'print the result as JSON')
    .action(async (options: ForecastOptions) => {
      const asOf = options.asOf ? new Date(options.asOf) : undefined;
      if (asOf && Number.isNaN(asOf.getTime()))
        throw new AppError('validation_failed', `--as-of ${options.asOf}: not a date (use ISO 8601)`);
      const number = (name: string, value: string, min: number, max: number) => {
        const n = Number(value);
        if (!(n >= min && n <= max))
          throw new AppError('validation_failed', `${name} ${value}: must be a number from ${min} to ${max}`);
        return n;
      };
      const json = Boolean(options.json);
      await withDatabase(async ({ database }) => {
        const db = database.db;
        if (options.backtest) {
          const bar = progressBar('backtest', json);
          const result = await runBacktest(db, {
            kind: options.period,
            periods: number('--periods', options.periods, 1, 24),
            ...(asOf ? { asOf } : {}),
            onProgress: (done, total) => bar.update('backtest', done, total),
          });
          bar.stop();
          printResult(json, result, () => {
            const pct = (v: number | null) => (v === null ? '' : `${(v * 100).toFixed(1)} %`);
            const rows = result.periods.map((p) => ({
              period: p.period,
              actual: p.actual,
              forecast: p.forecast,
              'P10-P90': `${p.p10}-${p.p90}`,
              'Monte Carlo': `${p.p10_monte_carlo}-${p.p90_monte_carlo}`,
              n: p.calibration_periods,
              error: pct(p.error.forecast),
              last_period: p.last_period,
              'error ': pct(p.error.last_period),
              stage_weighted: p.stage_weighted,
              'error  ': pct(p.error.stage_weighted),
            }));
            return (
              table(rows, Object.keys(rows[0] ?? { period: '' })) +
              `\nMAPE: forecast ${pct(result.mape.forecast)}, last period ${pct(result.mape.last_period)}, stage-weighted ${pct(result.mape.stage_weighted)}` +
              `\nBias: forecast ${pct(result.bias.forecast)}, last period ${pct(result.bias.last_period)}, stage-weighted ${pct(result.bias.stage_weighted)}` +
              `\nTotal: forecast ${pct(result.total_error.forecast)} (sum of forecasts against sum of actuals)` +
              `\nActual inside P10-P90 (nominal 80 %): ${pct(result.coverage_p10_p90)}, mean width ${pct(result.width_p10_p90)} of the actual` +
              ` (calibrated on the errors of the n earlier periods, of ${result.calibration_periods});` +
              ` Monte Carlo alone ${pct(result.coverage_p10_p90_monte_carlo)}, width ${pct(result.width_p10_p90_monte_carlo)}`
            );
          });
          return;
        }
        if (options.changes) {
          const result = await forecastChanges(db, {
            kind: options.period,
            days: number('--days', options.days, 1, 90),
          });
          printResult(json, result, () => {
            const moves = [
              ...result.new.map((m) => ({ change: 'new', ...m })),
              ...result.won.map((m) => ({ change: 'won', ...m })),
              ...result.lost.map((m) => ({ change: 'lost', ...m })),
              ...result.slipped.map((m) => ({ change: 'slipped', ...m })),
              ...result.probability.map((m) => ({ change: 'probability', ...m })),
            ]
              .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
              .slice(0, 20)
              .map((m) => ({
                change: m.change,
                deal: m.name,
                owner: m.owner,
                p_before: m.p_before,
                p_after: m.p_after,
                delta: m.delta,
              }));
            return (
              `${result.from.period} ${result.from.expected} (as of ${result.from.as_of.toISOString().slice(0, 10)}) -> ` +
              `${result.to.period} ${result.to.expected} (as of ${result.to.as_of.toISOString().slice(0, 10)}): ${result.delta >= 0 ? '+' : ''}${result.delta}\n` +
              `Parts: ${Object.entries(result.parts)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}\n` +
              table(moves, ['change', 'deal', 'owner', 'p_before', 'p_after', 'delta'])
            );
          });
          return;
        }
        const scenario = {
          win_rate: number('--win-rate', options.winRate, 0.1, 10),
          cycle_time: number('--cycle-time', options.cycleTime, 0.1, 10),
          pipeline_creation: number('--pipeline-creation', options.pipelineCreation, 0.1, 10),
        };
        const result = await runForecast(db, {
          kind: options.period,
          scenario,
          by: cliActor(),
          ...(asOf ? { asOf } : {}),
        });
        printResult(json, result, () => {
          const rows = result.periods.map((p) => ({
            period: p.label,
            expected: p.expected,
            P10: p.p10,
            P50: p.p50,
            P90: p.p90,
            range:
              p.range.method === 'calibrated' ? `calibrated (${p.range.periods} periods)` : 'Monte Carlo',
            won_to_date: p.won_to_date,
            from_open: p.from_open,
            from_new: p.from_new,
          }));
          const segments = result.periods[0]!.breakdown.segment.map((s) => ({
            segment: s.key,
            expected: s.expected,
            won_to_date: s.won_to_date,
            open_deals: s.deals,
          }));
          return (
            `As of ${result.as_of}, ${result.deals} open deal(s)${result.scenario ? `, scenario ${JSON.stringify(result.scenario)}` : ''}.\n` +
            table(rows, Object.keys(rows[0]!)) +
            `\nCurrent period by segment:\n` +
            table(segments, ['segment', 'expected', 'won_to_date', 'open_deals'])
          );
        });
      });
    });
}

export function bottlenecksCommand(): Command {
  return new Command('bottlenecks')
    .description(
      'Detect stages that slowed down or convert less (against their own history, per segment, region, owner and ' +
        'product), store the findings and propose remediations through the gate',
    )
    .addOption(
      new Option('--object <object>', 'opportunity or contact stages')
        .choices(['opportunity', 'contact'])
        .default('opportunity'),
    )
    .option('--no-propose', 'store the findings without proposing remediations')
    .option('--json', 'print the result as JSON')
    .action(async (options: { object: 'opportunity' | 'contact'; propose: boolean; json?: boolean }) => {
      await withDatabase(async ({ config, database }) => {
        const result = await runBottleneckDetection(database.db, {
          object: options.object,
          propose: options.propose,
          connector: config.executionConnector,
        });
        printResult(Boolean(options.json), result, () => {
          const rows = result.findings.map((f) => ({
            stage: f.stage,
            slice: f.dimension === 'all' ? 'whole stage' : `${f.dimension} ${f.value}`,
            kind: f.kind,
            since: f.startDate?.toISOString().slice(0, 10) ?? '',
            q: f.qValue.toExponential(1),
            proposal: f.decision ? `${f.decision.status} (${f.decision.outcome})` : '',
          }));
          return (
            `${result.report.tests} test(s), ${result.findings.length} finding(s), ${result.resolved} resolved.\n` +
            (rows.length
              ? table(rows, Object.keys(rows[0]!)) +
                '\n' +
                result.findings.map((f) => `- ${f.summary}`).join('\n')
              : 'No bottleneck found.')
          );
        });
      });
    });
}
