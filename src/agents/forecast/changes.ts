// Why the forecast moved between two runs, deal by deal: deals new to the pipeline, deals closed (won or lost)
// since, deals that slipped (their chance this period fell while their chance next period rose), and other
// probability changes; plus the change in won-to-date and in the value from pipeline not created yet. The
// parts add up to the change of the current period's expected value when both runs cover the same period.
import type { Selectable } from 'kysely';
import type { ForecastRunDealsTable, ForecastRunPeriodsTable } from '../../db/schema.ts';

export type StoredDeal = Selectable<ForecastRunDealsTable>;

interface Run {
  id: string;
  asOf: Date;
  periods: Selectable<ForecastRunPeriodsTable>[];
  deals: StoredDeal[];
}

export interface DealMove {
  opportunity_id: string;
  name: string;
  owner: string;
  stage_before: string | null;
  stage_after: string | null;
  p_before: number;
  p_after: number;
  /** Change of this deal's expected value in the current period of the later run. */
  delta: number;
}

export interface ForecastChanges {
  from: { run_id: string; as_of: Date; expected: number; period: string };
  to: { run_id: string; as_of: Date; expected: number; period: string };
  same_period: boolean;
  delta: number;
  parts: {
    new: number;
    won: number;
    lost: number;
    slipped: number;
    probability: number;
    won_to_date: number;
    new_pipeline: number;
  };
  new: DealMove[];
  won: DealMove[];
  lost: DealMove[];
  slipped: DealMove[];
  probability: DealMove[];
}

/** Deals whose probability moved less than this are left out of the lists (they still count in the parts). */
const MIN_MOVE = 0.05;

export function explainChanges(
  before: Run,
  after: Run,
  outcome: Map<string, { status: string; closedAt: number | null }>,
): ForecastChanges {
  const periodBefore = before.periods[0]!;
  const periodAfter = after.periods[0]!;
  const samePeriod = periodBefore.period_start.getTime() === periodAfter.period_start.getTime();
  const prior = new Map(before.deals.map((d) => [d.opportunity_id, d]));
  const later = new Map(after.deals.map((d) => [d.opportunity_id, d]));
  // With the same period, compare P(won this period); across a period boundary, the earlier run's "next".
  const pBefore = (d: StoredDeal) => (samePeriod ? d.p_current : d.p_next);
  const move = (b: StoredDeal | undefined, a: StoredDeal | undefined): DealMove => {
    const pb = b ? pBefore(b) : 0;
    const pa = a ? a.p_current : 0;
    return {
      opportunity_id: (a ?? b)!.opportunity_id,
      name: (a ?? b)!.name,
      owner: (a ?? b)!.owner,
      stage_before: b?.stage ?? null,
      stage_after: a?.stage ?? null,
      p_before: round(pb),
      p_after: round(pa),
      delta: Math.round((a ? pa * a.value : 0) - (b ? pb * b.value : 0)),
    };
  };
  const lists = {
    new: [] as DealMove[],
    won: [] as DealMove[],
    lost: [] as DealMove[],
    slipped: [] as DealMove[],
    probability: [] as DealMove[],
  };
  for (const a of after.deals) if (!prior.has(a.opportunity_id)) lists.new.push(move(undefined, a));
  for (const b of before.deals) {
    const a = later.get(b.opportunity_id);
    if (!a) {
      const status = outcome.get(b.opportunity_id)?.status;
      (status === 'won' ? lists.won : lists.lost).push(move(b, undefined));
      continue;
    }
    const m = move(b, a);
    if (samePeriod && a.p_current < b.p_current - MIN_MOVE && a.p_next > b.p_next) lists.slipped.push(m);
    else lists.probability.push(m);
  }
  const sum = (list: DealMove[]) => list.reduce((s, m) => s + m.delta, 0);
  const parts = {
    new: sum(lists.new),
    won: sum(lists.won),
    lost: sum(lists.lost),
    slipped: sum(lists.slipped),
    probability: sum(lists.probability),
    won_to_date: Math.round(periodAfter.won_to_date - (samePeriod ? periodBefore.won_to_date : 0)),
    new_pipeline: Math.round(
      periodAfter.from_new - (samePeriod ? periodBefore.from_new : (before.periods[1]?.from_new ?? 0)),
    ),
  };
  const byImpact = (list: DealMove[]) => list.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
  const expectedBefore = samePeriod ? periodBefore.expected : (before.periods[1]?.expected ?? 0);
  return {
    from: {
      run_id: before.id,
      as_of: before.asOf,
      expected: Math.round(expectedBefore),
      period: samePeriod ? periodBefore.label : (before.periods[1]?.label ?? ''),
    },
    to: {
      run_id: after.id,
      as_of: after.asOf,
      expected: Math.round(periodAfter.expected),
      period: periodAfter.label,
    },
    same_period: samePeriod,
    delta: Math.round(periodAfter.expected - expectedBefore),
    parts,
    new: byImpact(lists.new),
    won: byImpact(lists.won),
    lost: byImpact(lists.lost),
    slipped: byImpact(lists.slipped),
    probability: byImpact(lists.probability.filter((m) => Math.abs(m.p_after - m.p_before) >= MIN_MOVE)),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
