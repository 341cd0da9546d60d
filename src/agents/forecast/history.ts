// An opportunity's history as the forecast sees it, and what was known about it at a moment T: whether it was
// open, its stage, its amount, its recent activity. Everything the forecast and the backtest use goes through
// `stateAt`, so a forecast "as of" a past date sees only what was recorded by then. Times are epoch ms.

export interface OpportunityHistory {
  id: string;
  name: string;
  openedAt: number;
  /** When it was won or lost; null while open. */
  closedAt: number | null;
  status: 'open' | 'won' | 'lost';
  /** The account's size band. */
  segment: string;
  region: string;
  /** The owner's name (or email); 'unassigned' without one. */
  owner: string;
  ownerId: string | null;
  product: string;
  /** Stage entries in time order (closed_won / closed_lost included). */
  stages: { stage: string; at: number }[];
  /** Amounts as recorded, in time order. */
  amounts: { amount: number; at: number }[];
  /** Times of the events about the opportunity (meetings, calls, emails), sorted. */
  activity: number[];
}

export interface OpportunityState {
  stage: string;
  /** Days since it was opened. */
  ageDays: number;
  /** Days since it entered its current stage. */
  stageDays: number;
  /** The latest amount recorded by T; null when none was. */
  amount: number | null;
  /** Events about it in the 30 days before T. */
  activity30d: number;
}

const DAY = 86_400_000;

export function isOpenAt(o: OpportunityHistory, t: number): boolean {
  return o.openedAt <= t && (o.closedAt === null || o.closedAt > t);
}

/** Won on or before `t`? (Won deals carry their close time.) */
export function wonBy(o: OpportunityHistory, t: number): boolean {
  return o.status === 'won' && o.closedAt !== null && o.closedAt <= t;
}

export function stateAt(o: OpportunityHistory, t: number): OpportunityState {
  let stage = '(unknown)';
  let stageAt = o.openedAt;
  for (const s of o.stages) {
    if (s.at > t) break;
    stage = s.stage;
    stageAt = s.at;
  }
  let amount: number | null = null;
  for (const a of o.amounts) {
    if (a.at > t) break;
    amount = a.amount;
  }
  return {
    stage,
    ageDays: Math.max(0, (t - o.openedAt) / DAY),
    stageDays: Math.max(0, (t - stageAt) / DAY),
    amount,
    activity30d: countBetween(o.activity, t - 30 * DAY, t),
  };
}

/** The amount a deal is won at: its final amount once won, else the last known by T. */
export function wonAmount(o: OpportunityHistory): number {
  return o.amounts.at(-1)?.amount ?? 0;
}

function countBetween(sorted: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const at of sorted) {
    if (at > to) break;
    if (at > from) n++;
  }
  return n;
}
