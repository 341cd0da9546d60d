// Follow-up timing: cadence limits, overload delay, placement in the contact's zone and working hours, learned
// response hours, and the proposal.
import { describe, expect, it } from 'vitest';
import {
  cadenceAllows,
  MAX_TOUCHES_PER_7_DAYS,
  overloadDelayHours,
  placeFollowUp,
  proposeFollowUp,
} from '../../src/agents/followup-agent.ts';
import { priorResponseHours } from '../../src/agents/estimates.ts';
import { proposalSchema } from '../../src/agents/submit-proposal.ts';
import { localParts } from '../../src/agents/time-zones.ts';
import { context, environment, event, NOW, rep } from './fixtures.ts';

const hours = (n: number) => new Date(NOW.getTime() - n * 3_600_000);
const NINE_TO_FIVE = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };

describe('cadence', () => {
  it('keeps a minimum gap and a weekly cap', () => {
    expect(cadenceAllows(NOW, [])).toBe(true);
    expect(cadenceAllows(NOW, [hours(47)])).toBe(false);
    expect(cadenceAllows(NOW, [hours(49)])).toBe(true);
    const three = [hours(50), hours(100), hours(150)];
    expect(three).toHaveLength(MAX_TOUCHES_PER_7_DAYS);
    expect(cadenceAllows(NOW, three)).toBe(false);
    // Once the oldest leaves the 7-day window, a touch is allowed again.
    expect(cadenceAllows(new Date(NOW.getTime() + 19 * 3_600_000), three)).toBe(true);
  });

  it('pushes an overloaded owner later, up to a cap', () => {
    expect(overloadDelayHours(40, 40)).toBe(0);
    expect(overloadDelayHours(44, 40)).toBe(12);
    expect(overloadDelayHours(50, 40)).toBe(36);
    expect(overloadDelayHours(400, 40)).toBe(120);
  });
});

describe('placement', () => {
  const base = {
    now: NOW, // Monday 1 June 2026, 10:00 UTC
    channel: 'email' as const,
    contactZone: 'America/New_York',
    contactHours: NINE_TO_FIVE,
    repZone: 'America/New_York',
    repHours: NINE_TO_FIVE,
    touches: [],
    shares: priorResponseHours(),
    rate: 0.05,
    delayHours: 0,
  };

  it("takes the earliest working hour in the contact's zone when nothing is learned", () => {
    const placed = placeFollowUp(base)!;
    // 06:00 in New York: the first slot is 09:00 local = 13:00 UTC.
    expect(placed.best.at.toISOString()).toBe('2026-06-01T13:00:00.000Z');
    expect(placed.best.label).toBe('Mon 09:00');
  });

  it('goes to the hour the contact responds at', () => {
    const shares = priorResponseHours().map((s, h) => (h === 1 * 24 + 14 ? s * 20 : s)); // Tuesday 14:00
    const placed = placeFollowUp({ ...base, shares })!;
    expect(placed.best.label).toBe('Tue 14:00');
    expect(localParts(placed.best.at, 'America/New_York')).toMatchObject({ isoDay: 2, hour: 14 });
    expect(placed.best.lift).toBeGreaterThan(5);
    // The hour moves the chance of a response by at most a factor of two.
    expect(placed.best.factor).toBe(2);
    expect(placed.earliest.label).toBe('Mon 09:00');
  });

  it('respects the cadence, the rep hours for calls, and overload', () => {
    const afterGap = placeFollowUp({ ...base, touches: [hours(20)] })!;
    expect(afterGap.best.at.getTime()).toBeGreaterThanOrEqual(hours(20).getTime() + 48 * 3_600_000);
    // A call to London by a New York rep: only hours when both are working; to Sydney there are none.
    const call = placeFollowUp({ ...base, channel: 'call', contactZone: 'Europe/London' })!;
    expect(localParts(call.best.at, 'America/New_York').hour).toBeGreaterThanOrEqual(9);
    expect(localParts(call.best.at, 'Europe/London').hour).toBeLessThan(17);
    const delayed = placeFollowUp({ ...base, delayHours: 36 })!;
    expect(delayed.best.at.getTime()).toBeGreaterThanOrEqual(NOW.getTime() + 36 * 3_600_000);
    expect(placeFollowUp({ ...base, channel: 'call', contactZone: 'Australia/Sydney' })).toBeNull();
  });
});

describe('follow-up proposal', () => {
  it('schedules within cadence, in the contact zone, with the required fields', () => {
    const owner = rep({ timezone: 'America/New_York' });
    const c = context({
      owner,
      env: environment({ reps: [owner] }),
      country: 'DE',
      region: 'EMEA',
      events: [event('email.sent', hours(10)), event('email.replied', hours(8))],
    });
    const proposal = proposeFollowUp(c)!;
    expect(proposalSchema.safeParse(proposal).success).toBe(true);
    const params = proposal.action.params as {
      at: string;
      timezone: string;
      channel: string;
      owner_id: string;
    };
    expect(params.timezone).toBe('Europe/Berlin');
    expect(params.owner_id).toBe(owner.id);
    const at = new Date(params.at);
    expect(at.getTime() - hours(10).getTime()).toBeGreaterThanOrEqual(48 * 3_600_000);
    const local = localParts(at, 'Europe/Berlin');
    expect(local.hour).toBeGreaterThanOrEqual(9);
    expect(local.hour).toBeLessThan(17);
    expect(proposal.confidence).toBeGreaterThan(0);
    expect(proposal.confidence).toBeLessThan(1);
    expect(proposal.dissent.length).toBeGreaterThan(10);
    expect((proposal.inputs as any).timezone).toEqual({ timezone: 'Europe/Berlin', source: 'country' });
  });

  it('needs an owner, a channel and a touch worth its cost; keeps a pending slot while nothing happened', () => {
    expect(proposeFollowUp(context({ owner: null }))).toBeNull();
    expect(proposeFollowUp(context({ owner: rep(), probability: 0.0005, sizeBand: 'smb' }))).toBeNull();
    const owner = rep();
    const unreachable = context({
      owner,
      phone: null,
      events: [event('email.unsubscribed', hours(100))],
    });
    expect(proposeFollowUp(unreachable)).toBeNull();

    const first = proposeFollowUp(context({ owner }))!;
    const pending = {
      id: 'd1',
      agent: 'followup-timing',
      actionKind: 'followup.schedule',
      status: 'pending_review',
      action: first.action as any,
      createdAt: NOW,
    };
    const again = proposeFollowUp(context({ owner, openDecisions: [pending] }))!;
    expect(again.action.params['at']).toBe(first.action.params['at']);
  });
});
