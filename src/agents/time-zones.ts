// Local time without a date library: IANA zones through Intl, so daylight saving time is the zone database's,
// never an offset we guessed. Pure.
import type { WorkingHours } from '../db/schema.ts';

/** Where a contact is when the CRM does not say: by country, then by sales region. */
export const COUNTRY_TIMEZONES: Record<string, string> = {
  US: 'America/New_York',
  CA: 'America/Toronto',
  MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
  AR: 'America/Argentina/Buenos_Aires',
  CL: 'America/Santiago',
  CO: 'America/Bogota',
  GB: 'Europe/London',
  IE: 'Europe/Dublin',
  DE: 'Europe/Berlin',
  FR: 'Europe/Paris',
  NL: 'Europe/Amsterdam',
  BE: 'Europe/Brussels',
  ES: 'Europe/Madrid',
  IT: 'Europe/Rome',
  SE: 'Europe/Stockholm',
  CH: 'Europe/Zurich',
  PL: 'Europe/Warsaw',
  AE: 'Asia/Dubai',
  IN: 'Asia/Kolkata',
  SG: 'Asia/Singapore',
  JP: 'Asia/Tokyo',
  AU: 'Australia/Sydney',
  NZ: 'Pacific/Auckland',
};

export const REGION_TIMEZONES: Record<string, string> = {
  NA: 'America/New_York',
  EMEA: 'Europe/Berlin',
  APAC: 'Asia/Singapore',
  LATAM: 'America/Sao_Paulo',
};

/** A contact's business hours when nothing better is known: 09:00-17:00, Monday to Friday. */
export const DEFAULT_WORKING_HOURS: WorkingHours = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };

const validity = new Map<string, boolean>();
export function isValidTimeZone(zone: string | null | undefined): zone is string {
  if (!zone) return false;
  let ok = validity.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    validity.set(zone, ok);
  }
  return ok;
}

export interface ZoneChoice {
  timezone: string;
  source: 'contact' | 'country' | 'region' | 'rep' | 'default';
}

/** The contact's zone, else its (or its account's) country's, else the account region's, else the rep's, else UTC. */
export function contactTimeZone(options: {
  contactZone: string | null;
  contactCountry: string | null;
  accountCountry: string | null;
  accountRegion: string | null;
  repZone: string | null;
}): ZoneChoice {
  if (isValidTimeZone(options.contactZone)) return { timezone: options.contactZone, source: 'contact' };
  for (const country of [options.contactCountry, options.accountCountry]) {
    const zone = country ? COUNTRY_TIMEZONES[country.toUpperCase()] : undefined;
    if (zone) return { timezone: zone, source: 'country' };
  }
  const regional = options.accountRegion ? REGION_TIMEZONES[options.accountRegion.toUpperCase()] : undefined;
  if (regional) return { timezone: regional, source: 'region' };
  if (isValidTimeZone(options.repZone)) return { timezone: options.repZone, source: 'rep' };
  return { timezone: 'UTC', source: 'default' };
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** ISO weekday: 1 = Monday ... 7 = Sunday. */
  isoDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function localParts(date: Date, zone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(date)) parts[p.type] = p.value;
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    isoDay: WEEKDAYS[parts['weekday']!]!,
  };
}

/** Minutes the zone is ahead of UTC at that instant (CEST: 120). */
export function offsetMinutes(date: Date, zone: string): number {
  const p = localParts(date, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return Math.round((asUtc - Math.floor(date.getTime() / 60_000) * 60_000) / 60_000);
}

/**
 * The instant a wall-clock time happens in a zone, or null when it does not exist (skipped by the
 * spring-forward change). An ambiguous time (the autumn hour that repeats) gives its first occurrence.
 */
export function zonedTime(
  local: { year: number; month: number; day: number; hour: number; minute: number },
  zone: string,
): Date | null {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  // Two candidates from the offsets around the wall time; the earlier that reads back as the wall time wins.
  const candidates = new Set<number>();
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000]) {
    candidates.add(wall - offsetMinutes(new Date(probe), zone) * 60_000);
  }
  const matching = [...candidates]
    .sort((a, b) => a - b)
    .filter((t) => {
      const p = localParts(new Date(t), zone);
      return (
        p.year === local.year &&
        p.month === local.month &&
        p.day === local.day &&
        p.hour === local.hour &&
        p.minute === local.minute
      );
    });
  return matching.length > 0 ? new Date(matching[0]!) : null;
}

/** 0..167: Monday 00:00-00:59 local is 0, Sunday 23:00 is 167. */
export function hourOfWeek(date: Date, zone: string): number {
  const p = localParts(date, zone);
  return (p.isoDay - 1) * 24 + p.hour;
}

export function parseClock(text: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return NaN;
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Working days as ISO weekdays; 0 is accepted for Sunday. */
function isWorkingDay(hours: WorkingHours, isoDay: number): boolean {
  return hours.days.some((d) => (d === 0 ? 7 : d) === isoDay);
}

/** Is the instant inside the working hours, read in the zone? */
export function inWorkingHours(date: Date, zone: string, hours: WorkingHours): boolean {
  const p = localParts(date, zone);
  const minute = p.hour * 60 + p.minute;
  return isWorkingDay(hours, p.isoDay) && minute >= parseClock(hours.start) && minute < parseClock(hours.end);
}

/** Minutes from the instant to the nearest edge of the working hours (0 when inside), looking a day each way. */
export function minutesFromWorkingHours(date: Date, zone: string, hours: WorkingHours): number {
  if (inWorkingHours(date, zone, hours)) return 0;
  let best = Infinity;
  for (let step = 15; step <= 24 * 60; step += 15) {
    for (const sign of [1, -1]) {
      if (inWorkingHours(new Date(date.getTime() + sign * step * 60_000), zone, hours))
        best = Math.min(best, step);
    }
    if (best < Infinity) return best;
  }
  return best;
}

export interface LocalSlot {
  at: Date;
  /** Local hour of week in the slot's zone. */
  hourOfWeek: number;
  /** Local wall time, for explanations: "Tue 10:00". */
  label: string;
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * Hourly slots inside the working hours, read in `zone`, from `from` for `days` local days: the window's start
 * and every hour after it while before its end. Wall times skipped by a DST change are left out.
 */
export function workingSlots(from: Date, days: number, zone: string, hours: WorkingHours): LocalSlot[] {
  const start = parseClock(hours.start);
  const end = parseClock(hours.end);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) return [];
  const first = localParts(from, zone);
  const slots: LocalSlot[] = [];
  for (let d = 0; d <= days; d++) {
    // Calendar arithmetic on the local date (UTC-based Date avoids the host's zone).
    const date = new Date(Date.UTC(first.year, first.month - 1, first.day + d));
    const isoDay = ((date.getUTCDay() + 6) % 7) + 1;
    if (!isWorkingDay(hours, isoDay)) continue;
    for (let minute = start; minute < end; minute += 60) {
      const at = zonedTime(
        {
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
          hour: Math.floor(minute / 60),
          minute: minute % 60,
        },
        zone,
      );
      if (!at || at.getTime() < from.getTime()) continue;
      const label = `${DAY_NAMES[isoDay - 1]} ${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
      slots.push({ at, hourOfWeek: (isoDay - 1) * 24 + Math.floor(minute / 60), label });
    }
  }
  return slots;
}
