// Local time through the IANA zone database: DST gaps and repeats, half-hour zones, working-hour slots.
import { describe, expect, it } from 'vitest';
import {
  contactTimeZone,
  hourOfWeek,
  inWorkingHours,
  localParts,
  minutesFromWorkingHours,
  workingSlots,
  zonedTime,
} from '../../src/agents/time-zones.ts';

const NINE_TO_FIVE = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };

describe('time zones', () => {
  it('turns wall-clock times into instants on both sides of a DST change', () => {
    // Europe/Berlin moves to summer time on Sunday 29 March 2026.
    expect(
      zonedTime({ year: 2026, month: 3, day: 27, hour: 10, minute: 0 }, 'Europe/Berlin')?.toISOString(),
    ).toBe('2026-03-27T09:00:00.000Z');
    expect(
      zonedTime({ year: 2026, month: 3, day: 30, hour: 10, minute: 0 }, 'Europe/Berlin')?.toISOString(),
    ).toBe('2026-03-30T08:00:00.000Z');
    // 02:30 does not exist that night; 02:30 on 25 October exists twice (the first one counts).
    expect(zonedTime({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Berlin')).toBeNull();
    expect(
      zonedTime({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, 'Europe/Berlin')?.toISOString(),
    ).toBe('2026-10-25T00:30:00.000Z');
    // New York, 8 March 2026.
    expect(zonedTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York')).toBeNull();
    expect(
      zonedTime({ year: 2026, month: 3, day: 9, hour: 9, minute: 0 }, 'America/New_York')?.toISOString(),
    ).toBe('2026-03-09T13:00:00.000Z');
    // Half-hour zone.
    expect(
      zonedTime({ year: 2026, month: 6, day: 1, hour: 9, minute: 0 }, 'Asia/Kolkata')?.toISOString(),
    ).toBe('2026-06-01T03:30:00.000Z');
  });

  it('places working-hour slots in local time across the change', () => {
    const slots = workingSlots(new Date('2026-03-27T00:00:00Z'), 4, 'Europe/Berlin', NINE_TO_FIVE);
    const nine = slots.filter((s) => s.label.endsWith('09:00')).map((s) => s.at.toISOString());
    // Friday in winter time, Monday in summer time; no weekend slots.
    expect(nine).toEqual([
      '2026-03-27T08:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
    ]);
    expect(slots.every((s) => inWorkingHours(s.at, 'Europe/Berlin', NINE_TO_FIVE))).toBe(true);
    expect(slots.filter((s) => s.label.startsWith('Fri'))).toHaveLength(8);
    expect(slots[0]!.hourOfWeek).toBe(4 * 24 + 9);
  });

  it('starts from the given instant and honours odd windows', () => {
    const slots = workingSlots(new Date('2026-06-01T14:10:00Z'), 0, 'America/New_York', {
      days: [1],
      start: '08:30',
      end: '17:30',
    });
    // 10:10 local: the next slots are 10:30 ... 16:30.
    expect(slots.map((s) => s.label)).toEqual([
      'Mon 10:30',
      'Mon 11:30',
      'Mon 12:30',
      'Mon 13:30',
      'Mon 14:30',
      'Mon 15:30',
      'Mon 16:30',
    ]);
  });

  it('reads local parts and hour of week', () => {
    const at = new Date('2026-06-07T23:30:00Z'); // Sunday 23:30 UTC = Monday 01:30 in Berlin
    expect(localParts(at, 'Europe/Berlin')).toMatchObject({ isoDay: 1, hour: 1, minute: 30 });
    expect(hourOfWeek(at, 'Europe/Berlin')).toBe(1);
    expect(hourOfWeek(at, 'UTC')).toBe(6 * 24 + 23);
  });

  it('measures the distance to working hours', () => {
    const monday0730 = new Date('2026-06-01T11:30:00Z'); // 07:30 in New York
    expect(inWorkingHours(monday0730, 'America/New_York', NINE_TO_FIVE)).toBe(false);
    expect(minutesFromWorkingHours(monday0730, 'America/New_York', NINE_TO_FIVE)).toBe(90);
    expect(minutesFromWorkingHours(new Date('2026-06-01T14:00:00Z'), 'America/New_York', NINE_TO_FIVE)).toBe(
      0,
    );
  });

  it('chooses the contact zone, then country, region, rep, UTC', () => {
    const base = {
      contactZone: null,
      contactCountry: null,
      accountCountry: null,
      accountRegion: null,
      repZone: null,
    };
    expect(contactTimeZone({ ...base, contactZone: 'Asia/Tokyo', contactCountry: 'US' })).toEqual({
      timezone: 'Asia/Tokyo',
      source: 'contact',
    });
    expect(contactTimeZone({ ...base, contactZone: 'Not/AZone', contactCountry: 'de' }).timezone).toBe(
      'Europe/Berlin',
    );
    expect(contactTimeZone({ ...base, accountCountry: 'AU' }).timezone).toBe('Australia/Sydney');
    expect(contactTimeZone({ ...base, accountRegion: 'LATAM' })).toEqual({
      timezone: 'America/Sao_Paulo',
      source: 'region',
    });
    expect(contactTimeZone({ ...base, repZone: 'Europe/Paris' }).source).toBe('rep');
    expect(contactTimeZone(base)).toEqual({ timezone: 'UTC', source: 'default' });
  });
});
