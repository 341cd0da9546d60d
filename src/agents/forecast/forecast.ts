// The pipeline forecast, pure: won value in the current and the next period = won so far in the period + each
// open deal's P(won by the period end) x its value + the value expected from pipeline not created yet, with a
// range from a Monte Carlo over deals (each deal won or not, and a Poisson number of new deals of historical
// won sizes), and a breakdown by segment and owner.
import { seededRandom } from '../../models/ml/random.ts';
import {
  trainHazardModel,
  winProbabilities,
  NO_SCENARIO,
  type HazardModel,
  type HazardModelOptions,
  type Scenario,
} from './hazard-model.ts';
import { isOpenAt, wonAmount, type OpportunityHistory } from './history.ts';
import { fitNewPipeline, newPipelineExpectation, type NewPipelineModel } from './new-pipeline.ts';
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
  p10: number;
  p50: number;
  p90: number;
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

  const deals: DealForecast[] = opportunities
    .filter((o) => isOpenAt(o, asOf))
    .map((o) => {
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

  const ranges = simulate(
    deals,
    fitted.pipeline,
    [newCurrent, newNext],
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
    return {
      period,
      expected: wonToDate + fromOpen + fromNew,
      p10: wonToDate + q.p10,
      p50: wonToDate + q.p50,
      p90: wonToDate + q.p90,
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

/** P10/P50/P90 of the value still to be won in each period (won so far excluded). */
function simulate(
  deals: readonly DealForecast[],
  pipeline: NewPipelineModel,
  newExpected: [number, number],
  runs: number,
  seed: number,
): { p10: number; p50: number; p90: number }[] {
  const random = seededRandom(seed);
  const totals = [new Float64Array(runs), new Float64Array(runs)];
  const sizes = pipeline.wonAmounts.length ? pipeline.wonAmounts : [pipeline.meanWon];
  const lambdas = newExpected.map((v) => v / Math.max(1, pipeline.meanWon));
  for (let r = 0; r < runs; r++) {
    let current = 0;
    let next = 0;
    for (const d of deals) {
      const u = random();
      if (u < d.pCurrent) current += d.value;
      else if (u < d.pCurrent + d.pNext) next += d.value;
    }
    const extra = lambdas.map((lambda) => {
      let sum = 0;
      for (let n = poisson(lambda, random); n > 0; n--) sum += sizes[Math.floor(random() * sizes.length)]!;
      return sum;
    });
    totals[0]![r] = current + extra[0]!;
    totals[1]![r] = next + extra[1]!;
  }
  return totals.map((t) => {
    const sorted = t.sort();
    const at = (q: number) => sorted[Math.min(runs - 1, Math.floor(q * runs))]!;
    return { p10: at(0.1), p50: at(0.5), p90: at(0.9) };
  });
}

function poisson(lambda: number, random: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(random)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
