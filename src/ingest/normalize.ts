// Pure normalisation of identifiers and times. No I/O.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { isFreeMailDomain } from './free-mail.ts';

const EMAIL_PATTERN = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]{2,}$/;

/** Lower-cased and trimmed, or undefined when it is not an email address at all. */
export function normalizeEmail(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const email = value
    .trim()
    .toLowerCase()
    .replace(/^mailto:/, '');
  return EMAIL_PATTERN.test(email) ? email : undefined;
}

/** E.164 (+14155550100), or undefined when the number cannot be parsed. */
export function normalizePhone(
  value: string | undefined | null,
  defaultCountry?: string,
): string | undefined {
  if (!value || !value.trim()) return undefined;
  const country =
    defaultCountry && /^[A-Z]{2}$/.test(defaultCountry) ? (defaultCountry as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(value.trim(), country ? { defaultCountry: country } : undefined);
  return parsed && parsed.isPossible() ? parsed.number : undefined;
}

/** "https://www.Acme.com/pricing" -> "acme.com"; "Acme.COM" -> "acme.com"; undefined for non-domains. */
export function normalizeDomain(value: string | undefined | null): string | undefined {
  if (!value || !value.trim()) return undefined;
  let text = value.trim().toLowerCase();
  if (text.includes('@')) text = text.slice(text.lastIndexOf('@') + 1);
  let host: string;
  if (PLAIN_HOST.test(text)) {
    // Already a bare ASCII host name (every email domain, most domain fields): what URL would return anyway,
    // without its cost on every event.
    host = text;
  } else {
    if (!/^[a-z][a-z0-9+.-]*:\/\//.test(text)) text = `http://${text}`;
    try {
      host = new URL(text).hostname;
    } catch {
      return undefined;
    }
  }
  host = host.replace(/^www\d*\./, '').replace(/\.$/, '');
  if (!/^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(host)) return undefined;
  return host;
}

const PLAIN_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/;

/** The company domain of an email address, unless it is a free-mail provider (gmail.com is not a company). */
export function companyDomainFromEmail(email: string | undefined): string | undefined {
  if (!email) return undefined;
  const domain = normalizeDomain(email.slice(email.lastIndexOf('@') + 1));
  return domain && !isFreeMailDomain(domain) ? domain : undefined;
}

/** A company domain from a domain or URL, never a free-mail provider. */
export function companyDomain(value: string | undefined | null): string | undefined {
  const domain = normalizeDomain(value);
  return domain && !isFreeMailDomain(domain) ? domain : undefined;
}

const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/**
 * A timestamp in UTC. Times with an offset are exact; local times (no offset) are read in `timeZone`, the
 * source's zone. Returns undefined when the text is not a date-time.
 */
export function normalizeTimestamp(value: string, timeZone = 'UTC'): Date | undefined {
  const text = value.trim();
  if (HAS_OFFSET.test(text)) {
    const date = new Date(text.replace(' ', 'T'));
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  const match = LOCAL_DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = match;
  const parts = [
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(frac.padEnd(3, '0').slice(0, 3)),
  ] as const;
  if (
    parts[1] < 1 ||
    parts[1] > 12 ||
    parts[2] < 1 ||
    parts[2] > 31 ||
    parts[3] > 23 ||
    parts[4] > 59 ||
    parts[5] > 60
  ) {
    return undefined;
  }
  return zonedTimeToUtc(parts, timeZone);
}

type LocalParts = readonly [number, number, number, number, number, number, number];

/** Local wall-clock time in an IANA zone -> the UTC instant (two passes handle DST edges). */
export function zonedTimeToUtc(parts: LocalParts, timeZone: string): Date {
  const [y, mo, d, h, mi, s, ms] = parts;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (timeZone === 'UTC') return new Date(asUtc);
  let guess = asUtc - offsetMs(asUtc, timeZone);
  guess = asUtc - offsetMs(guess, timeZone);
  return new Date(guess);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms. */
export function offsetMs(instant: number, timeZone: string): number {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  const values: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(instant))) {
    if (part.type !== 'literal') values[part.type] = Number(part.value);
  }
  const wall = Date.UTC(
    values['year']!,
    values['month']! - 1,
    values['day']!,
    values['hour']!,
    values['minute']!,
    values['second']!,
  );
  return wall - Math.floor(instant / 1000) * 1000;
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
