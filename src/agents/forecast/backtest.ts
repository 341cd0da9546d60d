// The backtest: for each of the last N complete periods, forecast the period as of its first day with only what
// was known then (models refitted on the history before it), and compare with the value actually won in it.
// Next to it, two naive forecasts made at the same moment: last period's actual, and the stage-weighted
// pipeline (each open deal's amount times the historical win rate of its current stage).
import { forecastPipeline } from './forecast.ts';
import type { HazardModelOptions } from './hazard-model.ts';
import { fallbackAmounts } from './hazard-model.ts';
import { isOpenAt, stateAt, wonAmount, type OpportunityHistory } from './history.ts';
import { periodContaining, previousPeriod, type Period, type PeriodKind } from './periods.ts';

export interface BacktestPeriod {
  period: string;
  as_of: string;
  actual: number;
  forecast: number;
  p10: number;
  p90: number;
  last_period: number;
  stage_weighted: number;
  /** (forecast - actual) / actual for each method; null when nothing was won. */
  error: { forecast: number | null; last_period: number | null; stage_weighted: number | null };
}

export interface BacktestSummary {
  kind: PeriodKind;
  periods: BacktestPeriod[];
  /** Mean absolute percentage error and mean signed percentage error (bias), over periods with an actual. */
  mape: { forecast: number; last_period: number; stage_weighted: number };
  bias: { forecast: number; last_period: number; stage_weighted: number };
  /** Share of periods whose actual fell inside the P10–P90 range. */
  coverage_p10_p90: number;
}

export interface BacktestOptions {
  asOf: number;
  kind: PeriodKind;
  periods: number;
  hazard?: Partial<HazardModelOptions>;
  onProgress?: (done: number, total: number) => void;
}

const METHODS = ['forecast', 'last_period', 'stage_weighted'] as const;

export function backtest(
  opportunities: readonly OpportunityHistory[],
  options: BacktestOptions,
): BacktestSummary {
  const targets: Period[] = [];
  let period = previousPeriod(periodContaining(options.kind, options.asOf));
  while (targets.length < options.periods) {
    targets.unshift(period);
    period = previousPeriod(period);
  }
  const rows: BacktestPeriod[] = [];
  targets.forEach((target, i) => {
    const origin = target.start;
    const forecast = forecastPipeline(opportunities, {
      asOf: origin,
      kind: options.kind,
      simulations: 1000,
      ...(options.hazard ? { hazard: options.hazard } : {}),
    }).periods[0];
    const actual = wonBetween(opportunities, target.start, target.end);
    const lastPeriod = wonBetween(opportunities, previousPeriod(target).start, origin);
    const stageWeighted = stageWeightedPipeline(opportunities, origin);
    const error = (value: number) => (actual > 0 ? (value - actual) / actual : null);
    rows.push({
      period: target.label,
      as_of: new Date(origin).toISOString(),
      actual: Math.round(actual),
      forecast: Math.round(forecast.expected),
      p10: Math.round(forecast.p10),
      p90: Math.round(forecast.p90),
      last_period: Math.round(lastPeriod),
      stage_weighted: Math.round(stageWeighted),
      error: {
        forecast: error(forecast.expected),
        last_period: error(lastPeriod),
        stage_weighted: error(stageWeighted),
      },
    });
    options.onProgress?.(i + 1, targets.length);
  });
  const scored = rows.filter((r) => r.actual > 0);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  const metric = (f: (e: number) => number) =>
    Object.fromEntries(
      METHODS.map((m) => [m, round(mean(scored.map((r) => f(r.error[m]!))), 4)]),
    ) as BacktestSummary['mape'];
  return {
    kind: options.kind,
    periods: rows,
    mape: metric(Math.abs),
    bias: metric((e) => e),
    coverage_p10_p90: round(mean(scored.map((r) => (r.actual >= r.p10 && r.actual <= r.p90 ? 1 : 0))), 3),
  };
}

export function wonBetween(opportunities: readonly OpportunityHistory[], from: number, to: number): number {
  let sum = 0;
  for (const o of opportunities)
    if (o.status === 'won' && o.closedAt !== null && o.closedAt >= from && o.closedAt < to)
      sum += wonAmount(o);
  return sum;
}

/** Σ open deals' amount x the win rate of deals that were in the same stage and closed before `at`. */
export function stageWeightedPipeline(opportunities: readonly OpportunityHistory[], at: number): number {
  const visits = new Map<string, { won: number; closed: number }>();
  for (const o of opportunities) {
    if (o.closedAt === null || o.closedAt > at) continue;
    for (const stage of new Set(o.stages.map((s) => s.stage))) {
      const v = visits.get(stage) ?? { won: 0, closed: 0 };
      v.closed++;
      if (o.status === 'won') v.won++;
      visits.set(stage, v);
    }
  }
  const overall = opportunities.filter((o) => o.closedAt !== null && o.closedAt <= at);
  const overallRate = overall.length ? overall.filter((o) => o.status === 'won').length / overall.length : 0;
  const fallback = fallbackAmounts(opportunities, at);
  let sum = 0;
  for (const o of opportunities) {
    if (!isOpenAt(o, at)) continue;
    const state = stateAt(o, at);
    const v = visits.get(state.stage);
    const rate = v && v.closed >= 5 ? v.won / v.closed : overallRate;
    sum +=
      rate *
      (state.amount !== null && state.amount > 0
        ? state.amount
        : (fallback.byProduct[o.product] ?? fallback.overall));
  }
  return sum;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
