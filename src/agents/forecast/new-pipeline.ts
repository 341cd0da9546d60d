// Value expected from pipeline not created yet: how much is created per week (the last 13 weeks, with the
// growth of the last year and the calendar month's seasonal weight), times the share of created value that is
// won within d days of creation (value-weighted, from cohorts old enough to have had d days).
import { wonAmount, type OpportunityHistory } from './history.ts';
import type { Scenario } from './hazard-model.ts';

const DAY = 86_400_000;
const WEEK = 7 * DAY;

export interface NewPipelineModel {
  asOf: number;
  /** Created value per week at the as-of date, seasonally adjusted (the last 13 weeks' mean / their weight). */
  weeklyValue: number;
  /** Weekly growth factor of creation, from the last 52 weeks (clamped). */
  weeklyGrowth: number;
  /** Seasonal weight per calendar month (1 = average); all 1 with less than a year of history. */
  monthWeights: number[];
  /** Share of created value won within (k + 1) weeks of creation, k = 0.. */
  wonWithin: number[];
  /** Mean value of a won deal (the size of the new deals in the simulation of the range). */
  meanWon: number;
  wonAmounts: number[];
  /** Deals created per week over the last 26 weeks (or fewer): mean and variance (over-dispersion of the count). */
  weeklyCount: { mean: number; variance: number; weeks: number };
}

function createdValue(o: OpportunityHistory, fallback: number): number {
  const first = o.amounts[0];
  return first && first.amount > 0 && first.at <= o.openedAt + DAY ? first.amount : fallback;
}

export function fitNewPipeline(
  opportunities: readonly OpportunityHistory[],
  asOf: number,
  fallback: number,
  horizonWeeks = 27,
): NewPipelineModel {
  const created = opportunities.filter((o) => o.openedAt < asOf);
  const weeks = 52;
  const perWeek = new Array<number>(weeks).fill(0);
  for (const o of created) {
    const k = Math.floor((asOf - o.openedAt) / WEEK);
    if (k < weeks) perWeek[weeks - 1 - k]! += createdValue(o, fallback);
  }
  const first = Math.min(...created.map((o) => o.openedAt));
  const historyWeeks = Math.min(weeks, Math.floor((asOf - first) / WEEK));
  const recent = perWeek.slice(weeks - Math.min(13, historyWeeks));
  const weeklyGrowth = historyWeeks >= 52 ? growth(perWeek) : 1;
  const monthWeights = seasonalWeights(created, asOf, fallback, weeklyGrowth);
  // The last 13 weeks carry their own months' seasonal weight: divided out here, so that the target month's
  // weight is not applied on top of it (busy months before a quiet one used to be carried into it).
  const recentSeason =
    recent.reduce((sum, _, i) => {
      const at = asOf - (recent.length - i - 0.5) * WEEK;
      return sum + monthWeights[new Date(at).getUTCMonth()]!;
    }, 0) / Math.max(1, recent.length);
  const weeklyValue = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length) / (recentSeason || 1);

  const wonWithin: number[] = [];
  for (let k = 0; k < horizonWeeks; k++) {
    const d = (k + 1) * WEEK;
    let total = 0;
    let won = 0;
    for (const o of created) {
      if (o.openedAt > asOf - d) continue;
      const v = createdValue(o, fallback);
      total += v;
      if (o.status === 'won' && o.closedAt !== null && o.closedAt <= o.openedAt + d && o.closedAt <= asOf)
        won += wonAmount(o);
    }
    wonWithin.push(total > 0 ? Math.max(won / total, wonWithin.at(-1) ?? 0) : (wonWithin.at(-1) ?? 0));
  }
  const wonAmounts = created
    .filter((o) => o.status === 'won' && o.closedAt !== null && o.closedAt <= asOf)
    .map(wonAmount)
    .filter((a) => a > 0);
  const meanWon = wonAmounts.length ? wonAmounts.reduce((a, b) => a + b, 0) / wonAmounts.length : fallback;
  const countWeeks = Math.max(1, Math.min(26, historyWeeks));
  const counts = new Array<number>(countWeeks).fill(0);
  for (const o of created) {
    const k = Math.floor((asOf - o.openedAt) / WEEK);
    if (k < countWeeks) counts[k]!++;
  }
  const countMean = counts.reduce((a, b) => a + b, 0) / countWeeks;
  const variance = counts.reduce((a, c) => a + (c - countMean) ** 2, 0) / Math.max(1, countWeeks - 1);
  const weeklyCount = { mean: countMean, variance, weeks: countWeeks };
  return { asOf, weeklyValue, weeklyGrowth, monthWeights, wonWithin, meanWon, wonAmounts, weeklyCount };
}

/** Created value of the last 26 weeks against the 26 before, as a factor per week, within ±1.5 %. */
function growth(values: number[]): number {
  const half = Math.floor(values.length / 2);
  const before = values.slice(0, half).reduce((a, b) => a + b, 0);
  const after = values.slice(half).reduce((a, b) => a + b, 0);
  if (!(before > 0 && after > 0)) return 1;
  return Math.exp(Math.max(-0.015, Math.min(0.015, Math.log(after / before) / half)));
}

function seasonalWeights(
  created: readonly OpportunityHistory[],
  asOf: number,
  fallback: number,
  weeklyGrowth: number,
): number[] {
  const weights = new Array<number>(12).fill(1);
  const from = asOf - 365 * DAY;
  const inYear = created.filter((o) => o.openedAt >= from);
  const first = Math.min(...created.map((o) => o.openedAt));
  if (first > from || inYear.length < 24) return weights;
  const byMonth = new Array<number>(12).fill(0);
  // Detrended to the as-of level: with growth, the months of a year ago would otherwise look quiet, and they
  // are the calendar months being forecast.
  for (const o of inYear)
    byMonth[new Date(o.openedAt).getUTCMonth()]! +=
      createdValue(o, fallback) * weeklyGrowth ** ((asOf - o.openedAt) / WEEK);
  const mean = byMonth.reduce((a, b) => a + b, 0) / 12;
  // Shrunk halfway to 1: one year of one month is a noisy estimate of its weight.
  return byMonth.map((v) => (mean > 0 ? 0.5 + 0.5 * (v / mean) : 1));
}

/**
 * Relative variance of the new-pipeline rate over `weeks` weeks beyond Poisson: the uncertainty of the mean
 * weekly count it was estimated from (13 weeks) plus the weekly counts' over-dispersion averaged over the period.
 */
export function newPipelineRateVariance(model: NewPipelineModel, weeks: number): number {
  const { mean, variance } = model.weeklyCount;
  if (!(mean > 0)) return 0;
  return variance / (13 * mean * mean) + Math.max(0, variance - mean) / (mean * mean * Math.max(1, weeks));
}

/** Expected won value from deals created after the as-of date, won within [start, end). */
export function newPipelineExpectation(
  model: NewPipelineModel,
  start: number,
  end: number,
  scenario: Scenario,
): number {
  let expected = 0;
  for (let week = 0; model.asOf + week * WEEK < end; week++) {
    const createdAt = model.asOf + (week + 0.5) * WEEK;
    const season = model.monthWeights[new Date(createdAt).getUTCMonth()]!;
    const value = model.weeklyValue * model.weeklyGrowth ** (week + 7) * season * scenario.pipeline_creation;
    const within = (t: number) => {
      const weeks = (t - createdAt) / WEEK / scenario.cycle_time;
      if (weeks <= 0) return 0;
      const k = Math.min(model.wonWithin.length - 1, Math.max(0, Math.floor(weeks) - 1));
      const below = weeks < 1 ? 0 : model.wonWithin[k]!;
      const above = model.wonWithin[Math.min(model.wonWithin.length - 1, k + (weeks < 1 ? 0 : 1))]!;
      const frac = weeks < 1 ? weeks : weeks - Math.floor(weeks);
      return Math.min(1, (below + (above - below) * frac) * scenario.win_rate);
    };
    expected += value * (within(end) - within(Math.max(start, createdAt)));
  }
  return expected;
}
