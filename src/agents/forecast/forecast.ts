// The pipeline forecast, pure: won value in the current and the next period = won so far in the period + each
// open deal's P(won by the period end) x its value + the value expected from pipeline not created yet, with a
// range from a Monte Carlo (each deal won or not; the won model's level drawn from its standard error; a new-
// pipeline count that is Poisson given a rate drawn from its uncertainty, of historical won sizes), calibrated on
// the normalised errors of past periods when they are given (interval.ts); a breakdown by segment and owner.
import { normal, seededRandom } from '../../models/ml/random.ts';
import {
  trainHazardModel,
  winProbabilities,
  NO_SCENARIO,
  type HazardModel,
  type HazardModelOptions,
  type Scenario,
} from './hazard-model.ts';
import { isOpenAt, wonAmount, type OpportunityHistory } from './history.ts';
import { calibratedRange, type CalibratedRange } from './interval.ts';
import {
  fitNewPipeline,
  newPipelineExpectation,
  newPipelineRateVariance,
  type NewPipelineModel,
} from './new-pipeline.ts';
import { nextPeriod, periodContaining, type Period, type PeriodKind } from './periods.ts';

export interface DealForecast {
  id: string;
  name: string;
  stage: string;
  owner: string;
  ownerId: string | null;
  segment: string;
  value: number;
  /** P(won by the end of the current period). */
  pCurrent: number;
  /** P(won during the next period). */
  pNext: number;
}

export interface PeriodForecast {
  period: Period;
  expected: number;
  /** The range: calibrated on past errors when scores were given (interval.ts), else the Monte Carlo's. */
  p10: number;
  p50: number;
  p90: number;
  /** The Monte Carlo's own P10/P50/P90 (won so far included). */
  monteCarlo: { p10: number; p50: number; p90: number };
  range: CalibratedRange;
  wonToDate: number;
  fromOpen: number;
  fromNew: number;
  breakdown: {
    segment: { key: string; expected: number; won_to_date: number; deals: number }[];
    owner: { key: string; expected: number; won_to_date: number; deals: number }[];
  };
}

export interface Forecast {
  asOf: number;
  kind: PeriodKind;
  scenario: Scenario;
  periods: [PeriodForecast, PeriodForecast];
  deals: DealForecast[];
  model: HazardModel['summary'] & {
    fallback_amount: number;
    new_pipeline: Omit<NewPipelineModel, 'wonAmounts' | 'asOf'>;
  };
}

export interface ForecastOptions {
  asOf: number;
  kind: PeriodKind;
  scenario?: Scenario;
  simulations?: number;
  seed?: number;
  hazard?: Partial<HazardModelOptions>;
  /** Normalised log errors of past periods (interval.ts); the range is the Monte Carlo's without them. */
  calibration?: readonly number[];
}

export interface FittedForecastModels {
  hazard: HazardModel;
  pipeline: NewPipelineModel;
}

export function fitForecastModels(
  opportunities: readonly OpportunityHistory[],
  asOf: number,
  hazard: Partial<HazardModelOptions> = {},
): FittedForecastModels {
  const model = trainHazardModel(opportunities, asOf, hazard);
  return { hazard: model, pipeline: fitNewPipeline(opportunities, asOf, model.fallback.overall) };
}

export function forecastPipeline(
  opportunities: readonly OpportunityHistory[],
  options: ForecastOptions,
  fitted: FittedForecastModels = fitForecastModels(opportunities, options.asOf, options.hazard),
): Forecast {
  const scenario = options.scenario ?? NO_SCENARIO;
  const current = periodContaining(options.kind, options.asOf);
  const next = nextPeriod(current);
  const asOf = options.asOf;

  const open = opportunities.filter((o) => isOpenAt(o, asOf));
  // Each deal's probabilities with the won model's level shifted by z standard errors, z = -2..2, for the range.
  const grid = open.map((o) =>
    LEVEL_GRID.map((z) => {
      const { probabilities } = winProbabilities(
        fitted.hazard,
        o,
        [current.end, next.end],
        scenario,
        z * fitted.hazard.wonLevelSe,
      );
      return [probabilities[0]!, Math.max(0, probabilities[1]! - probabilities[0]!)] as const;
    }),
  );
  const deals: DealForecast[] = open.map((o) => {
    const { probabilities, value, stage } = winProbabilities(
      fitted.hazard,
      o,
      [current.end, next.end],
      scenario,
    );
    return {
      id: o.id,
      name: o.name,
      stage,
      owner: o.owner,
      ownerId: o.ownerId,
      segment: o.segment,
      value,
      pCurrent: probabilities[0]!,
      pNext: Math.max(0, probabilities[1]! - probabilities[0]!),
    };
  });
  const wonIn = (period: Period) =>
    opportunities.filter(
      (o) =>
        o.status === 'won' &&
        o.closedAt !== null &&
        o.closedAt >= period.start &&
        o.closedAt <= asOf &&
        o.closedAt < period.end,
    );
  const newCurrent = newPipelineExpectation(fitted.pipeline, asOf, current.end, scenario);
  const newNext = newPipelineExpectation(fitted.pipeline, next.start, next.end, scenario);

  const weeksOf = (from: number, to: number) => Math.max(1, (to - from) / (7 * 86_400_000));
  const ranges = simulate(
    deals,
    grid,
    fitted.pipeline,
    [newCurrent, newNext],
    [
      newPipelineRateVariance(fitted.pipeline, weeksOf(asOf, current.end)),
      newPipelineRateVariance(fitted.pipeline, weeksOf(next.start, next.end)),
    ],
    options.simulations ?? 2000,
    options.seed ?? 1,
  );
  const periodForecast = (period: Period, index: 0 | 1, fromNew: number): PeriodForecast => {
    const won = wonIn(period);
    const wonToDate = won.reduce((sum, o) => sum + wonAmount(o), 0);
    const p = (d: DealForecast) => (index === 0 ? d.pCurrent : d.pNext);
    const fromOpen = deals.reduce((sum, d) => sum + p(d) * d.value, 0);
    const byKey = (key: (x: { segment: string; owner: string }) => string) => {
      const rows = new Map<string, { key: string; expected: number; won_to_date: number; deals: number }>();
      const row = (k: string) => {
        let r = rows.get(k);
        if (!r) rows.set(k, (r = { key: k, expected: 0, won_to_date: 0, deals: 0 }));
        return r;
      };
      for (const d of deals) {
        const r = row(key(d));
        r.expected += p(d) * d.value;
        r.deals++;
      }
      for (const o of won) {
        const r = row(key(o));
        r.won_to_date += wonAmount(o);
        r.expected += wonAmount(o);
      }
      row('(pipeline not created yet)').expected += fromNew;
      return [...rows.values()]
        .map((r) => ({ ...r, expected: Math.round(r.expected), won_to_date: Math.round(r.won_to_date) }))
        .sort((a, b) => b.expected - a.expected);
    };
    const q = ranges[index]!;
    // Calibrated on what is still to be won: what is already won is certain.
    const range = calibratedRange(fromOpen + fromNew, q.p10, q.p90, options.calibration ?? []);
    return {
      period,
      expected: wonToDate + fromOpen + fromNew,
      p10: wonToDate + range.p10,
      p50: wonToDate + Math.min(range.p90, Math.max(range.p10, q.p50)),
      p90: wonToDate + range.p90,
      monteCarlo: { p10: wonToDate + q.p10, p50: wonToDate + q.p50, p90: wonToDate + q.p90 },
      range,
      wonToDate,
      fromOpen,
      fromNew,
      breakdown: { segment: byKey((x) => x.segment), owner: byKey((x) => x.owner) },
    };
  };
  const { wonAmounts: _amounts, asOf: _asOf, ...pipeline } = fitted.pipeline;
  return {
    asOf,
    kind: options.kind,
    scenario,
    periods: [periodForecast(current, 0, newCurrent), periodForecast(next, 1, newNext)],
    deals,
    model: {
      ...fitted.hazard.summary,
      fallback_amount: fitted.hazard.fallbackAmount,
      new_pipeline: pipeline,
    },
  };
}

const LEVEL_GRID = [-2, -1, 0, 1, 2] as const;

/**
 * P10/P50/P90 of the value still to be won in each period (won so far excluded). Each run draws the won model's
 * level z ~ N(0, 1) (clamped to ±2, probabilities interpolated on the grid), each deal's outcome, and per period
 * a new-pipeline rate multiplier (gamma, mean 1, the given relative variance) and a Poisson count of new deals.
 */
function simulate(
  deals: readonly DealForecast[],
  grid: readonly (readonly (readonly [number, number])[])[],
  pipeline: NewPipelineModel,
  newExpected: [number, number],
  rateVariance: [number, number],
  runs: number,
  seed: number,
): { p10: number; p50: number; p90: number }[] {
  const random = seededRandom(seed);
  const totals = [new Float64Array(runs), new Float64Array(runs)];
  const sizes = pipeline.wonAmounts.length ? pipeline.wonAmounts : [pipeline.meanWon];
  const lambdas = newExpected.map((v) => v / Math.max(1, pipeline.meanWon));
  for (let r = 0; r < runs; r++) {
    const z = Math.max(-2, Math.min(2, normal(random))) + 2;
    const at = Math.min(LEVEL_GRID.length - 2, Math.floor(z));
    const frac = z - at;
    let current = 0;
    let next = 0;
    deals.forEach((d, i) => {
      const lo = grid[i]![at]!;
      const hi = grid[i]![at + 1]!;
      const pCurrent = lo[0] + (hi[0] - lo[0]) * frac;
      const pNext = lo[1] + (hi[1] - lo[1]) * frac;
      const u = random();
      if (u < pCurrent) current += d.value;
      else if (u < pCurrent + pNext) next += d.value;
    });
    const extra = lambdas.map((lambda, k) => {
      let sum = 0;
      const rate = lambda * gammaMeanOne(rateVariance[k]!, random);
      for (let n = poisson(rate, random); n > 0; n--) sum += sizes[Math.floor(random() * sizes.length)]!;
      return sum;
    });
    totals[0]![r] = current + extra[0]!;
    totals[1]![r] = next + extra[1]!;
  }
  return totals.map((t) => {
    const sorted = t.sort();
    const q = (p: number) => sorted[Math.min(runs - 1, Math.floor(p * runs))]!;
    return { p10: q(0.1), p50: q(0.5), p90: q(0.9) };
  });
}

/** A gamma draw with mean 1 and the given variance (Marsaglia–Tsang); 1 when the variance is 0. */
export function gammaMeanOne(variance: number, random: () => number): number {
  if (!(variance > 1e-9)) return 1;
  const shape = 1 / variance;
  return gammaShape(shape, random) / shape;
}

function gammaShape(shape: number, random: () => number): number {
  if (shape < 1) return gammaShape(shape + 1, random) * Math.pow(1 - random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function poisson(lambda: number, random: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(random)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}
