// The time-to-event model behind each open deal's probability: a discrete-time hazard model with competing
// risks, fitted on landmark data. Every `landmarkDays` before the as-of date, each opportunity open at that
// landmark contributes one row per following week until it closes or the as-of date censors it; the row
// carries what was known at the landmark (stage, age, days in stage, activity, amount, segment, region,
// product, owner) plus the week's distance from the landmark and whether the week ends a quarter. Two logistic
// regressions (won this week / lost this week, given still open) are the weekly hazards; a deal's probability
// of being won by a date is the sum over weeks of P(still open) x P(won that week). Nothing after the as-of date
// is used, so the same code gives honest backtests.
import {
  encodeRow,
  encodeTable,
  fitEncoder,
  fitLogistic,
  logisticMargins,
  type Encoder,
  type LogisticModel,
  type Row,
} from '../../models/ml/index.ts';
import { logisticMargin } from '../../models/ml/logistic.ts';
import { sigmoid } from '../../models/ml/link.ts';
import { isOpenAt, stateAt, wonAmount, type OpportunityHistory } from './history.ts';
import { nearQuarterEnd } from './periods.ts';

export interface HazardModelOptions {
  landmarkDays: number;
  /** Weeks followed after each landmark (the longest forecast horizon needed). */
  horizonWeeks: number;
  /** Landmarks go back this far before the as-of date. */
  trainingDays: number;
  l2: number;
}

export const DEFAULT_HAZARD_OPTIONS: HazardModelOptions = {
  landmarkDays: 14,
  horizonWeeks: 27,
  trainingDays: 730,
  l2: 1,
};

export interface HazardModel {
  asOf: number;
  encoder: Encoder;
  won: LogisticModel;
  lost: LogisticModel;
  /** Median won amount before the as-of date (sizes new pipeline when nothing better is known). */
  fallbackAmount: number;
  /** The value of a deal whose amount is not known (see fallbackAmounts). */
  fallback: { overall: number; byProduct: Record<string, number> };
  /**
   * Won amount / amount recorded while open, for deals won before the as-of date (value-weighted, per stage at
   * the landmark; overall where a stage has fewer than 20 such wins): deals are often won below the amount in
   * the pipeline (discounts), so an open deal's known amount is scaled by it.
   */
  wonValueRatio: { overall: number; byStage: Record<string, number> };
  /**
   * Standard error of the level of the won model (a common shift of every week's log-odds of winning): from
   * its Fisher information Σ p(1 − p) over the training rows, times the design effect of the landmarks (a deal's
   * week appears once per landmark it was open at, so rows are not independent). The range draws from it.
   */
  wonLevelSe: number;
  summary: {
    rows: number;
    won_events: number;
    lost_events: number;
    landmarks: number;
    features: number;
    won_value_ratio: number;
    won_level_se: number;
  };
}

/** Changes to the assumptions: multipliers, 1 = as learned. */
export interface Scenario {
  win_rate: number;
  cycle_time: number;
  pipeline_creation: number;
}
export const NO_SCENARIO: Scenario = { win_rate: 1, cycle_time: 1, pipeline_creation: 1 };

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const COLUMNS = [
  'stage',
  'log_age',
  'log_stage_days',
  'log_activity',
  'log_amount',
  'amount_known',
  'segment',
  'region',
  'product',
  'owner',
  'week',
  'quarter_end',
  'stage_week',
];

/** Median won amount before `asOf` (the new-pipeline model's fallback size). */
export function medianWonAmount(opportunities: readonly OpportunityHistory[], asOf: number): number {
  const amounts = wonBefore(opportunities, asOf)
    .map(wonAmount)
    .sort((a, b) => a - b);
  return amounts.length ? amounts[Math.floor(amounts.length / 2)]! : 1;
}

function wonBefore(opportunities: readonly OpportunityHistory[], asOf: number): OpportunityHistory[] {
  return opportunities.filter(
    (o) => o.status === 'won' && o.closedAt !== null && o.closedAt <= asOf && wonAmount(o) > 0,
  );
}

/**
 * The value of a deal whose amount is not known: the mean won amount of its product before `asOf` (at least five
 * won), else of all products. A mean, not a median: it multiplies a probability into an expected value.
 */
export function fallbackAmounts(
  opportunities: readonly OpportunityHistory[],
  asOf: number,
): { overall: number; byProduct: Record<string, number> } {
  const won = wonBefore(opportunities, asOf);
  const mean = (list: OpportunityHistory[]) => list.reduce((s, o) => s + wonAmount(o), 0) / list.length;
  const byProduct: Record<string, number> = {};
  const groups = new Map<string, OpportunityHistory[]>();
  for (const o of won) groups.set(o.product, [...(groups.get(o.product) ?? []), o]);
  for (const [product, list] of groups) if (list.length >= 5) byProduct[product] = mean(list);
  return { overall: won.length ? mean(won) : 1, byProduct };
}

function featureRow(o: OpportunityHistory, landmark: number, week: number, fallback: Fallback): Row {
  const s = stateAt(o, landmark);
  const amount = valueOf(s.amount, o, fallback);
  return {
    stage: s.stage,
    log_age: Math.log1p(s.ageDays),
    log_stage_days: Math.log1p(s.stageDays),
    log_activity: Math.log1p(s.activity30d),
    log_amount: Math.log(Math.max(1, amount)),
    amount_known: s.amount !== null && s.amount > 0 ? 1 : 0,
    segment: o.segment,
    region: o.region,
    product: o.product,
    owner: o.owner,
    week,
    quarter_end: nearQuarterEnd(landmark + (week + 1) * WEEK) ? 1 : 0,
    // How soon a deal can be won depends on its stage: one in discovery has stages to go, one in negotiation
    // does not. Without this interaction the weekly hazards of early stages came out too high in the first weeks.
    stage_week: `${s.stage}|${weekBucket(week)}`,
  };
}

function weekBucket(week: number): string {
  return week < 4 ? String(week) : week < 8 ? '4-7' : week < 13 ? '8-12' : '13+';
}

/** Won / open amount per stage (within 0.5-1.5; 1 without history). */
function valueRatios(
  sums: Map<string, { won: number; open: number; n: number }>,
): HazardModel['wonValueRatio'] {
  const clamp = (r: number) => Math.max(0.5, Math.min(1.5, r));
  let won = 0;
  let open = 0;
  for (const r of sums.values()) {
    won += r.won;
    open += r.open;
  }
  const overall = open > 0 ? clamp(won / open) : 1;
  const byStage: Record<string, number> = {};
  for (const [stage, r] of sums) if (r.n >= 20 && r.open > 0) byStage[stage] = clamp(r.won / r.open);
  return { overall, byStage };
}

type Fallback = HazardModel['fallback'];

function valueOf(amount: number | null, o: OpportunityHistory, fallback: Fallback): number {
  return amount !== null && amount > 0 ? amount : (fallback.byProduct[o.product] ?? fallback.overall);
}

export function trainHazardModel(
  opportunities: readonly OpportunityHistory[],
  asOf: number,
  input: Partial<HazardModelOptions> = {},
): HazardModel {
  const options = { ...DEFAULT_HAZARD_OPTIONS, ...input };
  const fallback = fallbackAmounts(opportunities, asOf);
  const rows: Row[] = [];
  const dealWeeks = new Set<string>();
  const won: number[] = [];
  const lost: number[] = [];
  let landmarks = 0;
  const ratios = new Map<string, { won: number; open: number; n: number }>();
  const first = Math.min(...opportunities.map((o) => o.openedAt));
  for (
    let landmark = asOf - options.landmarkDays * DAY;
    landmark >= Math.max(first, asOf - options.trainingDays * DAY);
    landmark -= options.landmarkDays * DAY
  ) {
    landmarks++;
    for (const o of opportunities) {
      if (!isOpenAt(o, landmark)) continue;
      if (o.status === 'won' && o.closedAt !== null && o.closedAt <= asOf) {
        const s = stateAt(o, landmark);
        if (s.amount !== null && s.amount > 0) {
          const r = ratios.get(s.stage) ?? { won: 0, open: 0, n: 0 };
          r.won += wonAmount(o);
          r.open += s.amount;
          r.n++;
          ratios.set(s.stage, r);
        }
      }
      for (let week = 0; week < options.horizonWeeks; week++) {
        const from = landmark + week * WEEK;
        const to = from + WEEK;
        if (to > asOf) break;
        const closes = o.closedAt !== null && o.closedAt >= from && o.closedAt < to;
        rows.push(featureRow(o, landmark, week, fallback));
        dealWeeks.add(`${o.id}@${from}`);
        won.push(closes && o.status === 'won' ? 1 : 0);
        lost.push(closes && o.status === 'lost' ? 1 : 0);
        if (closes) break;
      }
    }
  }
  if (won.reduce((a, b) => a + b, 0) < 5) {
    throw new RangeError('too little history to learn from: fewer than 5 deals won before the as-of date');
  }
  const wonValueRatio = valueRatios(ratios);
  const encoder = fitEncoder(rows, won, { mode: 'linear', columns: COLUMNS });
  const x = encodeTable(encoder, rows);
  const wonModel = fitLogistic(x, won, { l2: options.l2 });
  let information = 0;
  for (const margin of logisticMargins(wonModel, x)) {
    const p = sigmoid(margin);
    information += p * (1 - p);
  }
  const wonLevelSe = Math.sqrt(rows.length / Math.max(1, dealWeeks.size) / Math.max(1e-9, information));
  return {
    asOf,
    encoder,
    won: wonModel,
    lost: fitLogistic(x, lost, { l2: options.l2 }),
    fallbackAmount: medianWonAmount(opportunities, asOf),
    fallback,
    wonValueRatio,
    wonLevelSe,
    summary: {
      rows: rows.length,
      won_events: won.reduce((a, b) => a + b, 0),
      lost_events: lost.reduce((a, b) => a + b, 0),
      landmarks,
      features: encoder.features.length,
      won_value_ratio: Math.round(wonValueRatio.overall * 1000) / 1000,
      won_level_se: Math.round(wonLevelSe * 10000) / 10000,
    },
  };
}

/**
 * P(won by each of `ends`) for a deal open at the model's as-of date, and its value (latest known amount times
 * the won / open amount ratio of its stage, or its product's mean won amount when none is known).
 */
export function winProbabilities(
  model: HazardModel,
  o: OpportunityHistory,
  ends: readonly number[],
  scenario: Scenario = NO_SCENARIO,
  /** Added to every week's log-odds of winning (the range's draws of the model's level). */
  shift = 0,
): { probabilities: number[]; value: number; stage: string } {
  const asOf = model.asOf;
  const state = stateAt(o, asOf);
  const last = Math.max(...ends);
  const probabilities = ends.map(() => 0);
  let survival = 1;
  for (let week = 0; asOf + week * WEEK < last; week++) {
    const from = asOf + week * WEEK;
    const encoded = encodeRow(model.encoder, featureRow(o, asOf, week, model.fallback));
    // Longer cycles stretch time: each week carries 1/cycle_time of the learned weekly hazard.
    const hWon = Math.min(
      0.95,
      (sigmoid(logisticMargin(model.won, encoded) + shift) * scenario.win_rate) / scenario.cycle_time,
    );
    const hLost = Math.min(0.95 - hWon, sigmoid(logisticMargin(model.lost, encoded)) / scenario.cycle_time);
    ends.forEach((end, i) => {
      // The share of this week before the period end.
      const share = Math.max(0, Math.min(1, (end - from) / WEEK));
      probabilities[i]! += survival * hWon * share;
    });
    survival *= 1 - hWon - hLost;
    if (survival < 1e-6) break;
  }
  // A known amount is what the deal is in the pipeline for; what it is won for is on average a share of it.
  const known = state.amount !== null && state.amount > 0;
  const ratio = known ? (model.wonValueRatio.byStage[state.stage] ?? model.wonValueRatio.overall) : 1;
  const value = valueOf(state.amount, o, model.fallback) * ratio;
  return { probabilities: probabilities.map((p) => Math.min(1, p)), value, stage: state.stage };
}
