// The small statistical estimates the agents share: rates smoothed toward a wider group (a contact toward
// similar contacts, those toward everyone, everyone toward a documented prior), what a lead is worth, and the
// chance one estimate beats another. Pure.
import type { ChannelCounts, DealValue } from './agent.ts';

/** A rate with its uncertainty: the mean and variance of a Beta(successes + k·prior, failures + k·(1 − prior)). */
export interface RateEstimate {
  rate: number;
  variance: number;
  /** Pseudo-observations plus real ones: how much evidence the rate rests on. */
  weight: number;
  successes: number;
  trials: number;
}

/**
 * (successes + strength·prior) / (trials + strength): sparse data stays near the prior instead of 0 or 1. The
 * variance is the Beta posterior's, with the prior counted as `strength` observations.
 */
export function smoothRate(successes: number, trials: number, prior: number, strength: number): RateEstimate {
  const s = Math.max(0, Math.min(successes, trials));
  const n = Math.max(0, trials) + strength;
  const rate = n > 0 ? (s + strength * prior) / n : prior;
  return { rate, variance: (rate * (1 - rate)) / (n + 1), weight: n, successes: s, trials };
}

/**
 * A rate smoothed through levels, widest first: the global counts toward the documented prior, the segment
 * toward the global rate, the contact toward the segment rate.
 */
export function hierarchicalRate(
  levels: { successes: number; trials: number; strength: number }[],
  prior: number,
): RateEstimate {
  let estimate = smoothRate(0, 0, prior, 1);
  for (const level of levels)
    estimate = smoothRate(level.successes, level.trials, estimate.rate, level.strength);
  return estimate;
}

/** Standard normal CDF (Abramowitz and Stegun 7.1.26; error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** P(A > B) for two independent normal estimates. Equal and certain: one half. */
export function probabilityGreater(meanA: number, varA: number, meanB: number, varB: number): number {
  const sd = Math.sqrt(Math.max(0, varA) + Math.max(0, varB));
  if (sd === 0) return meanA > meanB ? 1 : meanA < meanB ? 0 : 0.5;
  return normalCdf((meanA - meanB) / sd);
}

/** The probability after multiplying its odds: how a positive signal moves a conversion probability. */
export function withOddsRatio(probability: number, oddsRatio: number): number {
  const p = Math.min(0.999, Math.max(0.001, probability));
  return (p * oddsRatio) / (1 - p + p * oddsRatio);
}

// ---- what a deal is worth ----

/**
 * Typical won deal value per account size band when the history has too few won deals (the simulator's price
 * list times typical seats; roughly what small, mid-market and enterprise deals are worth in B2B SaaS).
 */
export const FALLBACK_DEAL_VALUE: Record<string, number> = {
  smb: 12_000,
  mid_market: 45_000,
  enterprise: 150_000,
  unknown: 25_000,
};
/** Fewer won deals than this in a band and its median is not trusted: the all-bands median or the constant. */
export const MIN_WON_DEALS_FOR_MEDIAN = 5;

/** The typical deal value for a band from won-deal medians, with the basis it came from. */
export function typicalDealValue(
  bands: Map<string, { median: number; deals: number }>,
  overall: { median: number; deals: number } | null,
  band: string | null,
): DealValue {
  const key = band ?? 'unknown';
  const own = bands.get(key);
  if (own && own.deals >= MIN_WON_DEALS_FOR_MEDIAN)
    return { value: own.median, basis: 'won_deals', deals: own.deals };
  const fallback = FALLBACK_DEAL_VALUE[key];
  if (fallback !== undefined || !overall || overall.deals < MIN_WON_DEALS_FOR_MEDIAN) {
    return { value: fallback ?? FALLBACK_DEAL_VALUE['unknown']!, basis: 'fallback', deals: own?.deals ?? 0 };
  }
  return { value: overall.median, basis: 'all_bands', deals: overall.deals };
}

// ---- channel response rates ----

/**
 * Documented priors for channel response rates before any history (typical B2B outbound figures): a reply to
 * 5 % of sales emails, a click on 3 %, a conversation on 30 % of dials, 80 % of booked meetings held.
 */
export const CHANNEL_PRIORS = {
  emailReply: 0.05,
  emailClick: 0.03,
  callConnect: 0.3,
  meetingHeld: 0.8,
} as const;
/** The documented priors weigh as this many observations; everyone's history quickly outweighs them. */
export const GLOBAL_PRIOR_STRENGTH = 20;
/** Similar contacts are pulled toward everyone with the weight of this many observations. */
export const SEGMENT_STRENGTH = 30;
/** One contact's own history is pulled toward similar contacts with the weight of this many observations. */
export const CONTACT_STRENGTH = 8;

export type RateName = 'emailReply' | 'emailClick' | 'callConnect' | 'meetingHeld';

function countsFor(counts: ChannelCounts | undefined, name: RateName): { successes: number; trials: number } {
  if (!counts) return { successes: 0, trials: 0 };
  switch (name) {
    case 'emailReply':
      return { successes: counts.emailReplies, trials: counts.emailsSent };
    case 'emailClick':
      return { successes: counts.emailClicks, trials: counts.emailsSent };
    case 'callConnect':
      return { successes: counts.callsConnected, trials: counts.calls };
    case 'meetingHeld':
      return { successes: counts.meetingsHeld, trials: counts.meetingsBooked };
  }
}

/** A channel's response rate for one contact: contact -> similar contacts -> everyone -> documented prior. */
export function channelRate(
  name: RateName,
  levels: { global: ChannelCounts | undefined; segment: ChannelCounts | undefined; contact: ChannelCounts },
): RateEstimate {
  return hierarchicalRate(
    [
      { ...countsFor(levels.global, name), strength: GLOBAL_PRIOR_STRENGTH },
      { ...countsFor(levels.segment, name), strength: SEGMENT_STRENGTH },
      { ...countsFor(levels.contact, name), strength: CONTACT_STRENGTH },
    ],
    CHANNEL_PRIORS[name],
  );
}

export function emptyChannelCounts(): ChannelCounts {
  return {
    emailsSent: 0,
    emailReplies: 0,
    emailClicks: 0,
    calls: 0,
    callsConnected: 0,
    meetingsBooked: 0,
    meetingsHeld: 0,
  };
}

/** Counts from one contact's own events (call.logged counts when outbound or of unknown direction). */
export function countChannels(
  events: readonly { type: string; outcome: string | null; direction: string | null }[],
): ChannelCounts {
  const c = emptyChannelCounts();
  for (const e of events) {
    if (e.type === 'email.sent') c.emailsSent++;
    else if (e.type === 'email.replied') c.emailReplies++;
    else if (e.type === 'email.clicked') c.emailClicks++;
    else if (e.type === 'meeting.booked') c.meetingsBooked++;
    else if (e.type === 'meeting.held') c.meetingsHeld++;
    else if (e.type === 'call.logged' && e.direction !== 'inbound') {
      c.calls++;
      if (e.outcome === 'connected') c.callsConnected++;
    }
  }
  return c;
}

// ---- when people respond ----

export const HOURS_PER_WEEK = 168;

/**
 * What a response is worth for learning the time of day it came at: a reply says most, a booked meeting or a
 * connected call as much as two opens, a click or an open the least.
 */
export const RESPONSE_WEIGHTS: Record<string, number> = {
  'email.replied': 3,
  'meeting.booked': 2,
  'call.connected': 2,
  'email.clicked': 1,
  'email.opened': 1,
};

/**
 * The prior over the hour of the week before any response is seen: 80 % of responses inside 09:00-17:00
 * Monday to Friday (local), spread evenly, the other 20 % spread evenly over the rest of the week.
 */
export function priorResponseHours(businessShare = 0.8): number[] {
  const business: number[] = [];
  for (let h = 0; h < HOURS_PER_WEEK; h++) {
    const day = Math.floor(h / 24);
    const hour = h % 24;
    if (day < 5 && hour >= 9 && hour < 17) business.push(h);
  }
  const inside = businessShare / business.length;
  const outside = (1 - businessShare) / (HOURS_PER_WEEK - business.length);
  const set = new Set(business);
  return Array.from({ length: HOURS_PER_WEEK }, (_, h) => (set.has(h) ? inside : outside));
}

/** Similar contacts' response hours are pulled toward the prior with the weight of this many responses. */
export const SEGMENT_HOURS_STRENGTH = 40;
/** A contact's own response hours are pulled toward similar contacts' with the weight of this many responses. */
export const CONTACT_HOURS_STRENGTH = 12;

/** Dirichlet smoothing through the levels; returns shares that sum to 1. */
export function responseHourShares(levels: { counts: number[] | undefined; strength: number }[]): number[] {
  let shares = priorResponseHours();
  for (const level of levels) {
    const counts = level.counts ?? [];
    const total = counts.reduce((a, b) => a + b, 0);
    shares = shares.map((prior, h) => ((counts[h] ?? 0) + level.strength * prior) / (total + level.strength));
  }
  return shares;
}
