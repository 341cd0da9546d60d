// Follow-up timing: when to touch a contact next, and by which channel. The time is placed in the contact's
// zone, inside working hours, at the hour of the week the contact (and similar contacts) tend to respond,
// learned from past replies, opens, clicks, connected calls and booked meetings and smoothed toward a
// business-hours prior; never breaking the cadence limits; later when the owner is overloaded.
import type { WorkingHours } from '../db/schema.ts';
import {
  baseInputs,
  gateFacts,
  money,
  percent,
  round,
  segmentOf,
  type Agent,
  type AgentContext,
  type AgentEvent,
  type Proposal,
} from './agent.ts';
import { estimateActions, type ActionEstimate } from './action-values.ts';
import { OPEN_LEAD_STAGES } from './context.ts';
import {
  withOddsRatio,
  CONTACT_HOURS_STRENGTH,
  HOURS_PER_WEEK,
  RESPONSE_WEIGHTS,
  responseHourShares,
  SEGMENT_HOURS_STRENGTH,
} from './estimates.ts';
import { dealValueFor } from './qualification-agent.ts';
import {
  contactTimeZone,
  DEFAULT_WORKING_HOURS,
  hourOfWeek,
  inWorkingHours,
  workingSlots,
  type LocalSlot,
} from './time-zones.ts';

export const FOLLOWUP_AGENT = 'followup-timing';
export const FOLLOWUP_VERSION = '1.0.0';

/** Cadence: no more than 3 outbound touches in any 7 days (more reads as spam and raises unsubscribes). */
export const MAX_TOUCHES_PER_7_DAYS = 3;
/** Cadence: at least 48 hours between two outbound touches. */
export const MIN_GAP_HOURS = 48;
/** Slots are looked for this many days ahead. */
export const HORIZON_DAYS = 14;
/** Not sooner than this from now: a person may need to approve it first. */
export const MIN_LEAD_MINUTES = 30;
/** A touch loses half its pull for every 3 days it waits: sooner is better unless a later hour is much better. */
export const DELAY_HALF_LIFE_DAYS = 3;
/** An overloaded owner's follow-ups move 12 hours later for every 10 % over capacity... */
export const OVERLOAD_DELAY_HOURS_PER_10_PERCENT = 12;
/** ... but never more than 5 days. */
export const MAX_OVERLOAD_DELAY_HOURS = 120;
/**
 * How much the hour moves the odds of a response: the square root of how much more often responses come at that
 * hour than at an average working hour, kept within [1/2, 2]. Send-time studies find timing worth tens of percent,
 * not multiples; the share of responses at an hour also reflects when messages were sent.
 */
export const TIMING_ELASTICITY = 0.5;
export const TIMING_FACTOR_RANGE = [0.5, 2] as const;
/** The slot already proposed (pending) keeps a 10 % edge, so a rerun does not move it for nothing. */
export const STICKY_FACTOR = 1.1;
/** Outbound touches count toward the cadence. */
export const TOUCH_TYPES = new Set(['email.sent', 'call.logged', 'meeting.booked']);

export type Channel = 'email' | 'call';

export function outboundTouches(events: readonly AgentEvent[]): Date[] {
  return events
    .filter((e) => TOUCH_TYPES.has(e.type) && !(e.type === 'call.logged' && e.direction === 'inbound'))
    .map((e) => e.occurredAt);
}

/** May a touch happen at `at`, given the past touches? Counts the touches in the 7 days up to `at` and the gap. */
export function cadenceAllows(at: Date, touches: readonly Date[]): boolean {
  const t = at.getTime();
  let inWindow = 0;
  for (const touch of touches) {
    const ago = t - touch.getTime();
    if (ago < 0) continue;
    if (ago < MIN_GAP_HOURS * 3_600_000) return false;
    if (ago < 7 * 86_400_000) inWindow++;
  }
  return inWindow + 1 <= MAX_TOUCHES_PER_7_DAYS;
}

/** How much later an overloaded owner's follow-up goes (0 at or under capacity). */
export function overloadDelayHours(load: number, capacity: number): number {
  if (capacity <= 0) return MAX_OVERLOAD_DELAY_HOURS;
  const over = load / capacity - 1;
  if (over <= 0) return 0;
  // Rounded first so that exactly 10 % over (44/40) is one step, not two by floating-point error.
  const steps = Math.ceil(Math.round((over / 0.1) * 1e6) / 1e6);
  return Math.min(MAX_OVERLOAD_DELAY_HOURS, steps * OVERLOAD_DELAY_HOURS_PER_10_PERCENT);
}

export interface PlacementInput {
  now: Date;
  channel: Channel;
  contactZone: string;
  /** The window read in the contact's zone. */
  contactHours: WorkingHours;
  /** A call also needs the rep in their own working hours. */
  repZone: string;
  repHours: WorkingHours;
  touches: readonly Date[];
  /** Shares of responses per local hour of week (sum 1). */
  shares: readonly number[];
  /** The channel's response rate at an average hour. */
  rate: number;
  delayHours: number;
  /** A pending slot to keep when still valid and not clearly beaten. */
  sticky?: Date | null;
}

export interface PlacedSlot extends LocalSlot {
  share: number;
  /** Share of responses relative to the average slot of the window. */
  lift: number;
  /** What the hour does to the odds of a response (timingFactor of the lift). */
  factor: number;
  /** The chance of a response at this hour. */
  chance: number;
  /** The chance, discounted for the wait: what slots are ranked by. */
  utility: number;
}

/** A touch loses half its pull every DELAY_HALF_LIFE_DAYS: the lead cools while it waits. */
export function waitDiscount(days: number): number {
  return 0.5 ** (Math.max(0, days) / DELAY_HALF_LIFE_DAYS);
}

export function timingFactor(lift: number): number {
  const [low, high] = TIMING_FACTOR_RANGE;
  return Math.min(high, Math.max(low, Math.max(0, lift) ** TIMING_ELASTICITY));
}

export interface Placement {
  best: PlacedSlot;
  /** The earliest allowed slot and the best slot of each other day, best first. */
  alternatives: PlacedSlot[];
  earliest: PlacedSlot;
  considered: number;
  startFrom: Date;
}

/** Chooses the slot; null when no slot in the horizon satisfies the cadence and the working hours. */
export function placeFollowUp(input: PlacementInput): Placement | null {
  const startFrom = new Date(input.now.getTime() + MIN_LEAD_MINUTES * 60_000 + input.delayHours * 3_600_000);
  const all = workingSlots(startFrom, HORIZON_DAYS, input.contactZone, input.contactHours);
  if (all.length === 0) return null;
  const windowHours = [...new Set(all.map((s) => s.hourOfWeek))];
  const meanShare = windowHours.reduce((sum, h) => sum + input.shares[h]!, 0) / windowHours.length;
  const valid: PlacedSlot[] = [];
  for (const slot of all) {
    if (!cadenceAllows(slot.at, input.touches)) continue;
    if (input.channel === 'call' && !inWorkingHours(slot.at, input.repZone, input.repHours)) continue;
    const share = input.shares[slot.hourOfWeek]!;
    const days = (slot.at.getTime() - input.now.getTime()) / 86_400_000;
    const sticky = input.sticky && input.sticky.getTime() === slot.at.getTime() ? STICKY_FACTOR : 1;
    const lift = meanShare > 0 ? share / meanShare : 1;
    const factor = timingFactor(lift);
    const chance = Math.min(0.95, withOddsRatio(input.rate, factor));
    valid.push({ ...slot, share, lift, factor, chance, utility: chance * waitDiscount(days) * sticky });
  }
  if (valid.length === 0) return null;
  const best = valid.reduce((a, b) => (b.utility > a.utility ? b : a));
  const earliest = valid[0]!;
  const byDay = new Map<string, PlacedSlot>();
  for (const slot of valid) {
    const day = slot.label.slice(0, 3) + slot.at.toISOString().slice(0, 10);
    const current = byDay.get(day);
    if (!current || slot.utility > current.utility) byDay.set(day, slot);
  }
  const alternatives = [...byDay.values()]
    .filter((s) => s.at.getTime() !== best.at.getTime())
    .sort((a, b) => b.utility - a.utility);
  return { best, alternatives, earliest, considered: all.length, startFrom };
}

/** Weighted responses of one contact per local hour of week. */
export function contactResponseHours(events: readonly AgentEvent[], zone: string): number[] {
  const bins = new Array<number>(HOURS_PER_WEEK).fill(0);
  for (const e of events) {
    const kind = e.type === 'call.logged' ? (e.outcome === 'connected' ? 'call.connected' : null) : e.type;
    const weight = kind ? RESPONSE_WEIGHTS[kind] : undefined;
    if (weight) bins[hourOfWeek(e.occurredAt, zone)]! += weight;
  }
  return bins;
}

export const followupAgent: Agent = {
  name: FOLLOWUP_AGENT,
  version: FOLLOWUP_VERSION,
  kind: 'followup.schedule',
  description:
    "Schedules the next touch (email or call) in the contact's time zone and working hours, at the hour the " +
    `contact and similar contacts respond, within ${MAX_TOUCHES_PER_7_DAYS} touches per 7 days and ` +
    `${MIN_GAP_HOURS} h between touches; later when the owner is overloaded.`,
  async propose(context) {
    const proposal = proposeFollowUp(context);
    return proposal ? [proposal] : [];
  },
};

export function proposeFollowUp(context: AgentContext): Proposal | null {
  if (!(OPEN_LEAD_STAGES as readonly string[]).includes(context.contact.lifecycleStage)) return null;
  const owner = context.owner;
  // Without an owner nobody would make the touch: routing comes first.
  if (!owner) return null;
  const estimates = estimateActions(context);
  const channels = estimates
    .filter((e): e is ActionEstimate & { action: Channel } => e.action === 'email' || e.action === 'call')
    .filter((e) => e.eligible)
    .sort((a, b) => b.expectedValue - a.expectedValue);
  if (channels.length === 0) return null;

  const zone = contactTimeZone({
    contactZone: context.contact.timezone,
    contactCountry: context.contact.country,
    accountCountry: context.account?.country ?? null,
    accountRegion: context.account?.region ?? null,
    repZone: owner.timezone,
  });
  const repHours = owner.workingHours ?? DEFAULT_WORKING_HOURS;
  const contactHours = owner.workingHours ?? DEFAULT_WORKING_HOURS;
  const segment = segmentOf(context.contact, context.account);
  const own = contactResponseHours(context.events, zone.timezone);
  const shares = responseHourShares([
    { counts: context.env.responseHours.global, strength: SEGMENT_HOURS_STRENGTH },
    { counts: context.env.responseHours.bySegment.get(segment), strength: SEGMENT_HOURS_STRENGTH },
    { counts: own, strength: CONTACT_HOURS_STRENGTH },
  ]);
  const evidence = {
    contact: own.reduce((a, b) => a + b, 0),
    segment: (context.env.responseHours.bySegment.get(segment) ?? []).reduce((a, b) => a + b, 0),
  };
  const touches = outboundTouches(context.events);
  const delayHours = overloadDelayHours(owner.load, owner.capacity);
  const pending = context.history.openDecisions.find(
    (d) => d.agent === FOLLOWUP_AGENT && (d.status === 'pending_review' || d.status === 'proposed'),
  );
  // The pending slot is kept only while nothing happened since it was proposed.
  const newEvents = pending ? context.events.some((e) => e.occurredAt > pending.createdAt) : true;
  const stickyAt =
    pending && !newEvents && typeof pending.action.params['at'] === 'string'
      ? new Date(pending.action.params['at'] as string)
      : null;

  let placed: { channel: ActionEstimate & { action: Channel }; placement: Placement } | null = null;
  for (const channel of channels) {
    const placement = placeFollowUp({
      now: context.now,
      channel: channel.action,
      contactZone: zone.timezone,
      contactHours,
      repZone: owner.timezone,
      repHours,
      touches,
      shares,
      rate: channel.probability,
      delayHours,
      sticky: pending?.action.params['channel'] === channel.action ? stickyAt : null,
    });
    if (placement) {
      placed = { channel, placement };
      break;
    }
  }
  if (!placed) return null;
  const { channel, placement } = placed;
  const best = placement.best;
  const chance = (slot: PlacedSlot) => slot.chance;
  // What the touch is worth: the chance of a response, discounted for the wait, times its value, less the effort.
  const value = (slot: PlacedSlot) =>
    slot.chance *
      waitDiscount((slot.at.getTime() - context.now.getTime()) / 86_400_000) *
      channel.successValue -
    channel.cost;
  // A touch worth less than the effort is not proposed; next-best-action recommends nurture or disqualification.
  if (value(best) <= 0) return null;
  const confidence = chance(best);
  const deal = dealValueFor(context);
  const other = channels.find((c) => c.action !== channel.action);
  const inWindow = touches.filter((t) => context.now.getTime() - t.getTime() < 7 * 86_400_000).length;
  const peak = shares.indexOf(Math.max(...shares));
  const when = (slot: PlacedSlot) =>
    `${slot.label} ${zone.timezone} (${slot.at.toISOString().slice(0, 16).replace('T', ' ')} UTC)`;

  const forFactors = [
    {
      feature: 'response_hour_share',
      phrase: `responses at this hour of the week are ${round(best.lift, 2)}x the average working hour (contact and similar contacts): x${round(best.factor, 2)} on the odds of a response`,
      contribution: round(best.factor - 1, 3),
    },
    {
      feature: `${channel.action}_response_rate`,
      phrase: `${channel.action === 'email' ? 'reply' : 'connect'} rate ${percent(channel.probability)} for this contact (smoothed)`,
      contribution: round(channel.probability, 3),
    },
    {
      feature: 'cadence',
      phrase: `${inWindow} touch(es) in the last 7 days; limit ${MAX_TOUCHES_PER_7_DAYS}, ${MIN_GAP_HOURS} h apart`,
      contribution: 0,
    },
  ];
  const againstFactors = [
    ...(delayHours > 0
      ? [
          {
            feature: 'owner_load',
            phrase: `${owner.name} is over capacity (${owner.load}/${owner.capacity}): moved ${delayHours} h later`,
            contribution: -delayHours,
          },
        ]
      : []),
    ...(zone.source !== 'contact'
      ? [
          {
            feature: 'timezone',
            phrase: `the contact's time zone is inferred from the ${zone.source}`,
            contribution: 0,
          },
        ]
      : []),
    ...(best.at.getTime() > placement.earliest.at.getTime()
      ? [
          {
            feature: 'delay',
            phrase: `waits ${round((best.at.getTime() - placement.earliest.at.getTime()) / 3_600_000, 1)} h past the earliest allowed slot`,
            contribution: round(-(best.at.getTime() - placement.earliest.at.getTime()) / 86_400_000, 2),
          },
        ]
      : []),
  ];
  const runnerUp = placement.alternatives[0];
  const dissent =
    best.at.getTime() > placement.earliest.at.getTime()
      ? `A touch could go out sooner, at ${when(placement.earliest)}; every day of waiting lets the lead cool, and the ` +
        `hour-of-week pattern rests on ${round(evidence.contact, 0)} weighted responses of this contact and ` +
        `${round(evidence.segment, 0)} of similar contacts.`
      : runnerUp
        ? `The contact responds more at ${labelOf(peak)} local time; ${when(runnerUp)} is the next best slot and ` +
          `waiting for a better hour might raise the ${percent(confidence)} chance of ${channel.action === 'email' ? 'a reply' : 'a conversation'}.`
        : `This is the only slot the cadence and working hours allow in ${HORIZON_DAYS} days; another touch may be one too many.`;

  return {
    agent: FOLLOWUP_AGENT,
    agent_version: FOLLOWUP_VERSION,
    subject_type: 'contact',
    subject_id: context.contact.id,
    action: {
      type: 'followup.schedule',
      params: {
        contact_id: context.contact.id,
        owner_id: owner.id,
        channel: channel.action,
        at: best.at.toISOString(),
        timezone: zone.timezone,
      },
    },
    confidence: round(confidence, 4),
    expected_value: round(value(best)),
    risk: round((1 - confidence) * channel.cost),
    explanation: {
      summary:
        `${channel.action === 'email' ? 'Email' : 'Call'} ${when(best)}: ${percent(confidence)} chance of ` +
        `${channel.action === 'email' ? 'a reply' : 'a conversation'}, worth ${money(channel.successValue)}.`,
      for: forFactors,
      against: againstFactors,
    },
    dissent,
    mitigations: [
      `Scheduled, not sent: ${owner.name} can move or cancel it until ${best.at.toISOString()}.`,
      `Cadence limits are enforced when placing it: at most ${MAX_TOUCHES_PER_7_DAYS} touches in 7 days, ${MIN_GAP_HOURS} h apart.`,
      'A reply, a meeting or a stage change before then re-runs this agent and moves or withdraws the touch.',
    ],
    alternatives: [
      ...[placement.earliest, ...placement.alternatives]
        .filter(
          (s, i, list) =>
            s.at.getTime() !== best.at.getTime() &&
            list.findIndex((x) => x.at.getTime() === s.at.getTime()) === i,
        )
        .slice(0, 3)
        .map((s) => ({
          action: `followup.schedule:${channel.action}@${s.at.toISOString()}`,
          expected_value: round(value(s)),
          why_not:
            s === placement.earliest
              ? `sooner, but the hour is worth x${round(s.factor, 2)} on the odds of a response against x${round(best.factor, 2)}`
              : `${s.label}: less pull once the wait is counted (x${round(s.factor, 2)}, later)`,
        })),
      ...(other
        ? [
            {
              action: `followup.schedule:${other.action}`,
              expected_value: round(other.expectedValue),
              why_not: `${other.action} is worth ${money(other.expectedValue)} per touch against ${money(channel.expectedValue)}`,
            },
          ]
        : []),
    ],
    inputs: baseInputs(followupAgent, context, {
      timezone: zone,
      owner: {
        id: owner.id,
        timezone: owner.timezone,
        working_hours: repHours,
        load: owner.load,
        capacity: owner.capacity,
      },
      channel_estimates: channels.map((c) => ({
        channel: c.action,
        probability: round(c.probability, 4),
        expected_value: round(c.expectedValue),
        basis: c.basis,
      })),
      touches_last_7_days: inWindow,
      cadence: { max_touches_per_7_days: MAX_TOUCHES_PER_7_DAYS, min_gap_hours: MIN_GAP_HOURS },
      overload_delay_hours: delayHours,
      segment,
      slot: {
        at: best.at.toISOString(),
        local: best.label,
        share: round(best.share, 5),
        lift: round(best.lift, 3),
      },
      slots_considered: placement.considered,
      confidence_method:
        'P(response): the smoothed channel response rate with its odds times the timing factor (square root of the relative share of responses at this local hour of week, within [0.5, 2])',
    }),
    facts: gateFacts(context, deal.value),
  };
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
function labelOf(how: number): string {
  return `${DAY_NAMES[Math.floor(how / 24)]} ${String(how % 24).padStart(2, '0')}:00`;
}
