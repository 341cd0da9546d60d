// What each next action is worth for one contact: EV(a) = P(success | a, context) x value of success − cost.
// The probabilities are simple, documented estimates learned from history (channel response rates of the
// contact, of similar contacts and of everyone, smoothed); the value of a success is how much it moves the
// lead's chance of converting (its odds times a documented ratio) times the typical deal value. Pure.
import { segmentOf, type AgentContext, type ChannelCounts } from './agent.ts';
import { channelRate, countChannels, withOddsRatio, type RateEstimate } from './estimates.ts';
import { dealValueFor, DISQUALIFY_VALUE_KEPT } from './qualification-agent.ts';

export const NEXT_ACTIONS = [
  'email',
  'call',
  'meeting_request',
  'nurture_sequence',
  'escalate_to_ae',
  'disqualify',
] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];

/**
 * What an action costs, in the deal currency: mostly people's time at about 60 an hour for an SDR and 120 for an
 * AE. A personal email about 8 minutes; a call with its attempts and notes 20 minutes; a meeting with preparation
 * and notes 80 minutes; an escalation an AE's hour plus the hand-off; a nurture sequence is automated.
 */
export const ACTION_COST: Record<NextAction, number> = {
  email: 8,
  call: 20,
  meeting_request: 80,
  nurture_sequence: 1,
  escalate_to_ae: 150,
  disqualify: 0,
};

/**
 * How a success moves the odds of converting (SQL within 30 days): a reply triples them, a conversation on the
 * phone doubles them, a meeting held multiplies them by six, a click in a nurture sequence by 1.3. Rough,
 * deliberately conservative figures; replace them with ratios learned from outcomes when there are enough.
 */
export const SUCCESS_ODDS_RATIO: Record<'email' | 'call' | 'meeting_request' | 'nurture_sequence', number> = {
  email: 3,
  call: 2,
  meeting_request: 6,
  nurture_sequence: 1.3,
};
/** Emails in a nurture sequence; success is any click over the sequence. */
export const NURTURE_SEQUENCE_EMAILS = 4;
/**
 * A meeting request is an email asking for time: accepted about as often as such emails are answered, more
 * for warm leads: P(accept) = reply rate x (0.5 + lead score), capped at 0.9.
 */
export const MEETING_ACCEPT_BASE = 0.5;
/** Getting an AE onto a ready lead raises what it is worth by about 15 % (sooner, larger, better-run deals). */
export const ESCALATION_GAIN = 0.15;
/** What a disqualification saves: the rest of a cadence (about eight touches of rep time). */
export const DISQUALIFY_SAVING = 80;
/** A calibrated score is treated as being as certain as a rate from this many similar leads; the prior as 10. */
export const SCORE_EFFECTIVE_N = 50;
export const PRIOR_SCORE_EFFECTIVE_N = 10;
/** Stages whose contacts the next-best-action covers. */
export const NBA_STAGES = ['lead', 'mql', 'sql'] as const;

export interface ActionEstimate {
  action: NextAction;
  eligible: boolean;
  /** Why not eligible (no email address, unsubscribed, ...). */
  blocked: string | null;
  probability: number;
  probabilityVariance: number;
  /** What a success is worth. */
  successValue: number;
  cost: number;
  /** Value given up whatever happens (a disqualified lead's forgone chance). */
  forgone: number;
  expectedValue: number;
  /** Variance of the expected value, from the uncertainty of the probability. */
  variance: number;
  /** How the probability was computed, for the record. */
  basis: string;
}

export interface ContactReach {
  canEmail: boolean;
  canCall: boolean;
  emailBlocked: string | null;
  callBlocked: string | null;
}

/** Can the contact be emailed or called at all? Unsubscribes and hard bounces end email for good. */
export function contactReach(context: Pick<AgentContext, 'contact' | 'events'>): ContactReach {
  const unsubscribed = context.events.some((e) => e.type === 'email.unsubscribed');
  const hardBounce = context.events.some((e) => e.type === 'email.bounced' && e.outcome === 'hard');
  const emailBlocked = !context.contact.email
    ? 'no email address'
    : unsubscribed
      ? 'unsubscribed from email'
      : hardBounce
        ? 'the address bounced hard'
        : null;
  // A number in the CRM, or one the team has dialled before (call.logged), is a number to call.
  const dialled = context.events.some((e) => e.type === 'call.logged');
  const callBlocked = context.contact.phone || dialled ? null : 'no phone number';
  return { canEmail: emailBlocked === null, canCall: callBlocked === null, emailBlocked, callBlocked };
}

export interface ChannelRates {
  reply: RateEstimate;
  click: RateEstimate;
  connect: RateEstimate;
  held: RateEstimate;
  contact: ChannelCounts;
}

export function channelRates(context: AgentContext): ChannelRates {
  const segment = context.env.channels.bySegment.get(segmentOf(context.contact, context.account));
  const levels = { global: context.env.channels.global, segment, contact: countChannels(context.events) };
  return {
    reply: channelRate('emailReply', levels),
    click: channelRate('emailClick', levels),
    connect: channelRate('callConnect', levels),
    held: channelRate('meetingHeld', levels),
    contact: levels.contact,
  };
}

/** The expected value of every next action for this contact. */
export function estimateActions(context: AgentContext): ActionEstimate[] {
  const p = context.score?.probability ?? 0.1;
  const n = context.score && !context.score.isPrior ? SCORE_EFFECTIVE_N : PRIOR_SCORE_EFFECTIVE_N;
  const scoreVariance = (p * (1 - p)) / (n + 1);
  const deal = dealValueFor(context).value;
  const reach = contactReach(context);
  const rates = channelRates(context);
  const lift = (ratio: number) => deal * (withOddsRatio(p, ratio) - p);
  const hasOpenOpportunity = context.history.opportunities.some((o) => o.status === 'open');
  const stage = context.contact.lifecycleStage;

  const accept = Math.min(0.9, rates.reply.rate * (MEETING_ACCEPT_BASE + p));
  const meetingP = accept * rates.held.rate;
  // Var(XY) for independent X, Y: the product of moments, close enough for a ranking.
  const meetingVar =
    rates.reply.variance * (MEETING_ACCEPT_BASE + p) ** 2 * (rates.held.variance + rates.held.rate ** 2) +
    rates.held.variance * accept ** 2;
  const sequenceP = 1 - (1 - rates.click.rate) ** NURTURE_SEQUENCE_EMAILS;
  const sequenceVar =
    (NURTURE_SEQUENCE_EMAILS * (1 - rates.click.rate) ** (NURTURE_SEQUENCE_EMAILS - 1)) ** 2 *
    rates.click.variance;

  const make = (
    action: NextAction,
    probability: number,
    probabilityVariance: number,
    successValue: number,
    basis: string,
    blocked: string | null,
    forgone = 0,
  ): ActionEstimate => {
    const cost = ACTION_COST[action];
    const expectedValue = probability * successValue - cost - forgone;
    return {
      action,
      eligible: blocked === null,
      blocked,
      probability,
      probabilityVariance,
      successValue,
      cost,
      forgone,
      expectedValue,
      variance: successValue ** 2 * probabilityVariance,
      basis,
    };
  };
  const rateBasis = (name: string, r: RateEstimate, own: string) =>
    `${name} ${(r.rate * 100).toFixed(1)} % (contact ${own}, smoothed toward similar contacts and everyone)`;

  return [
    make(
      'email',
      rates.reply.rate,
      rates.reply.variance,
      lift(SUCCESS_ODDS_RATIO.email),
      rateBasis('reply rate', rates.reply, `${rates.contact.emailReplies}/${rates.contact.emailsSent}`),
      reach.emailBlocked,
    ),
    make(
      'call',
      rates.connect.rate,
      rates.connect.variance,
      lift(SUCCESS_ODDS_RATIO.call),
      rateBasis('connect rate', rates.connect, `${rates.contact.callsConnected}/${rates.contact.calls}`),
      reach.callBlocked,
    ),
    make(
      'meeting_request',
      meetingP,
      meetingVar,
      lift(SUCCESS_ODDS_RATIO.meeting_request),
      `P(accept) = reply rate x (${MEETING_ACCEPT_BASE} + score) = ${(accept * 100).toFixed(1)} %, x held rate ${(rates.held.rate * 100).toFixed(0)} %`,
      reach.canEmail || reach.canCall ? null : 'no way to reach the contact',
    ),
    make(
      'nurture_sequence',
      sequenceP,
      sequenceVar,
      lift(SUCCESS_ODDS_RATIO.nurture_sequence),
      `any click over ${NURTURE_SEQUENCE_EMAILS} emails at a click rate of ${(rates.click.rate * 100).toFixed(1)} %`,
      reach.emailBlocked,
    ),
    make(
      'escalate_to_ae',
      p,
      scoreVariance,
      deal * ESCALATION_GAIN,
      `lead score ${(p * 100).toFixed(0)} %: the chance the lead is ready for an AE`,
      hasOpenOpportunity ? 'an open opportunity already has an AE' : null,
    ),
    make(
      'disqualify',
      1 - p,
      scoreVariance,
      DISQUALIFY_SAVING,
      `1 − lead score: the chance the lead would not convert; a wrong disqualification forgoes ${100 - DISQUALIFY_VALUE_KEPT * 100} % of its value`,
      stage === 'sql' ? 'an SQL is disqualified by its AE, not by an agent' : null,
      p * deal * (1 - DISQUALIFY_VALUE_KEPT),
    ),
  ];
}

/** The eligible actions, best first (ties: the cheaper, then the order of NEXT_ACTIONS). */
export function rankActions(estimates: ActionEstimate[]): ActionEstimate[] {
  return estimates
    .filter((e) => e.eligible)
    .sort(
      (a, b) =>
        b.expectedValue - a.expectedValue ||
        a.cost - b.cost ||
        NEXT_ACTIONS.indexOf(a.action) - NEXT_ACTIONS.indexOf(b.action),
    );
}
