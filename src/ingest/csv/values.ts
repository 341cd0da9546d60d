// Turning CSV text into typed values: numbers, booleans, dates and date-times in a time zone. Pure.
import { normalizeTimestamp, zonedTimeToUtc } from '../normalize.ts';

export const VALUE_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export type Cast = { ok: true; value: unknown } | { ok: false; message: string };

export interface CastOptions {
  /** Date formats, tried in order (e.g. "YYYY-MM-DD HH:mm", "MM/DD/YYYY", "iso", "unix_seconds"). */
  formats: string[];
  timezone: string;
  /** Decimal separator of numbers: "." (default) or ",". */
  decimal: '.' | ',';
  /** For date formats without a year: the row number from which each year applies. */
  yearByRow?: Record<string, number> | undefined;
  rowNumber: number;
}

/** A value from the row (text) or from a value map or default (already typed), cast to `type`. */
export function castValue(value: unknown, type: ValueType, options: CastOptions): Cast {
  switch (type) {
    case 'string':
      return { ok: true, value: typeof value === 'string' ? value : String(value) };
    case 'integer':
    case 'number': {
      const number = typeof value === 'number' ? value : parseNumber(String(value), options.decimal);
      if (number === undefined) return { ok: false, message: `"${String(value)}" is not a number` };
      if (type === 'integer' && !Number.isInteger(number)) {
        return { ok: false, message: `"${String(value)}" is not a whole number` };
      }
      return { ok: true, value: number };
    }
    case 'boolean': {
      const bool = typeof value === 'boolean' ? value : parseBoolean(String(value));
      if (bool === undefined) {
        return {
          ok: false,
          message: `"${String(value)}" is not a yes/no value (true/false, yes/no, 1/0, y/n)`,
        };
      }
      return { ok: true, value: bool };
    }
    case 'date':
    case 'datetime': {
      const parsed = parseDate(String(value), options);
      if (!parsed) {
        return {
          ok: false,
          message: `"${String(value)}" does not match the date format ${options.formats.map((f) => `"${f}"`).join(' or ')}`,
        };
      }
      if (type === 'date') return { ok: true, value: parsed.date };
      return { ok: true, value: parsed.instant.toISOString() };
    }
  }
}

const GROUPED = /^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/;
const GROUPED_COMMA_DECIMAL = /^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$/;
const PLAIN = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/**
 * "1234.5", "1,234.50", "USD 1,234", "$1,234", "12 %". A grouping separator counts only in groups of three,
 * so "1,5" is never read as 15: it is not a number unless the decimal separator is ",".
 */
export function parseNumber(text: string, decimal: '.' | ',' = '.'): number | undefined {
  let t = text.replace(/[\s\u00a0\u202f]/g, '');
  t = t.replace(/^([A-Z]{3}|[$€£¥])/, '').replace(/([A-Z]{3}|[$€£¥%])$/, '');
  if (decimal === ',') {
    if (GROUPED_COMMA_DECIMAL.test(t)) t = t.replace(/\./g, '');
    t = t.replace(',', '.');
  } else if (GROUPED.test(t)) {
    t = t.replace(/,/g, '');
  }
  if (!PLAIN.test(t)) return undefined;
  const number = Number(t);
  return Number.isFinite(number) ? number : undefined;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 't', 'x', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'f', 'off']);

export function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  return undefined;
}

// ---- dates ----

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const TOKENS = [
  'YYYY',
  'YY',
  'MMMM',
  'MMM',
  'MM',
  'M',
  'DD',
  'D',
  'HH',
  'H',
  'hh',
  'h',
  'mm',
  'ss',
  'SSS',
  'A',
  'a',
  'Z',
];
const TOKEN_PATTERNS: Record<string, string> = {
  YYYY: '(\\d{4})',
  YY: '(\\d{2})',
  MMMM: '([A-Za-z]{3,9}\\.?)',
  MMM: '([A-Za-z]{3,9}\\.?)',
  MM: '(\\d{1,2})',
  M: '(\\d{1,2})',
  DD: '(\\d{1,2})',
  D: '(\\d{1,2})',
  HH: '(\\d{1,2})',
  H: '(\\d{1,2})',
  hh: '(\\d{1,2})',
  h: '(\\d{1,2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  SSS: '(\\d{1,9})',
  A: '([AaPp]\\.?[Mm]\\.?)',
  a: '([AaPp]\\.?[Mm]\\.?)',
  Z: '(Z|[+-]\\d{2}:?\\d{2})',
};
export const SPECIAL_FORMATS = ['iso', 'unix_seconds', 'unix_ms'] as const;

interface CompiledFormat {
  regex: RegExp;
  tokens: string[];
}

const compiled = new Map<string, CompiledFormat>();

/** Checks a format string; returns a problem to report, or undefined when it is usable. */
export function formatProblem(format: string): string | undefined {
  if ((SPECIAL_FORMATS as readonly string[]).includes(format)) return undefined;
  const { tokens } = compileFormat(format);
  const has = (...names: string[]) => names.some((n) => tokens.includes(n));
  if (!has('MMMM', 'MMM', 'MM', 'M')) return `date format "${format}" has no month (M, MM or MMM)`;
  if (has('hh', 'h') && !has('A', 'a'))
    return `date format "${format}" uses a 12-hour clock (h) without AM/PM (A)`;
  if (new Set(tokens).size !== tokens.length) return `date format "${format}" repeats a part`;
  return undefined;
}

export function formatHasYear(format: string): boolean {
  if ((SPECIAL_FORMATS as readonly string[]).includes(format)) return true;
  const { tokens } = compileFormat(format);
  return tokens.includes('YYYY') || tokens.includes('YY');
}

function compileFormat(format: string): CompiledFormat {
  const cached = compiled.get(format);
  if (cached) return cached;
  let pattern = '';
  const tokens: string[] = [];
  for (let i = 0; i < format.length;) {
    const token = TOKENS.find((t) => format.startsWith(t, i));
    if (token) {
      pattern += TOKEN_PATTERNS[token];
      tokens.push(token);
      i += token.length;
    } else if (/\s/.test(format[i]!)) {
      pattern += '\\s+';
      while (i < format.length && /\s/.test(format[i]!)) i++;
    } else {
      pattern += format[i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      i++;
    }
  }
  const result = { regex: new RegExp(`^${pattern}$`), tokens };
  compiled.set(format, result);
  return result;
}

export interface ParsedDate {
  /** The calendar date as written (YYYY-MM-DD). */
  date: string;
  /** The instant: exact with an offset, otherwise the local time in the time zone. */
  instant: Date;
}

export function parseDate(text: string, options: Omit<CastOptions, 'decimal'>): ParsedDate | undefined {
  const value = text.trim();
  for (const format of options.formats) {
    const parsed = parseWithFormat(value, format, options);
    if (parsed) return parsed;
  }
  return undefined;
}

function parseWithFormat(
  value: string,
  format: string,
  options: Omit<CastOptions, 'decimal' | 'formats'>,
): ParsedDate | undefined {
  if (format === 'unix_seconds' || format === 'unix_ms') {
    if (!/^-?\d+(\.\d+)?$/.test(value)) return undefined;
    const instant = new Date(Number(value) * (format === 'unix_seconds' ? 1000 : 1));
    return Number.isNaN(instant.getTime()) ? undefined : fromInstant(instant, options.timezone);
  }
  if (format === 'iso') return parseIso(value, options.timezone);
  const { regex, tokens } = compileFormat(format);
  const match = regex.exec(value);
  if (!match) return undefined;
  const parts = { year: NaN, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 };
  let pm: boolean | undefined;
  let offset: string | undefined;
  tokens.forEach((token, i) => {
    const text = match[i + 1]!;
    if (token === 'YYYY') parts.year = Number(text);
    else if (token === 'YY') parts.year = 2000 + Number(text) - (Number(text) >= 70 ? 100 : 0);
    else if (token === 'MMM' || token === 'MMMM')
      parts.month = MONTHS.indexOf(text.slice(0, 3).toLowerCase()) + 1;
    else if (token === 'MM' || token === 'M') parts.month = Number(text);
    else if (token === 'DD' || token === 'D') parts.day = Number(text);
    else if (token === 'HH' || token === 'H' || token === 'hh' || token === 'h') parts.hour = Number(text);
    else if (token === 'mm') parts.minute = Number(text);
    else if (token === 'ss') parts.second = Number(text);
    else if (token === 'SSS') parts.ms = Number(text.padEnd(3, '0').slice(0, 3));
    else if (token === 'A' || token === 'a') pm = text[0]!.toLowerCase() === 'p';
    else if (token === 'Z') offset = text;
  });
  if (pm !== undefined) {
    if (parts.hour < 1 || parts.hour > 12) return undefined;
    parts.hour = (parts.hour % 12) + (pm ? 12 : 0);
  }
  if (Number.isNaN(parts.year)) {
    const year = yearForRow(options.yearByRow, options.rowNumber);
    if (year === undefined) return undefined;
    parts.year = year;
  }
  if (!validParts(parts)) return undefined;
  const date = `${String(parts.year).padStart(4, '0')}-${pad(parts.month)}-${pad(parts.day)}`;
  const local = [
    parts.year,
    parts.month,
    parts.day,
    parts.hour,
    parts.minute,
    parts.second,
    parts.ms,
  ] as const;
  const instant = offset
    ? new Date(Date.UTC(...withMonthIndex(local)) - offsetMinutes(offset) * 60_000)
    : zonedTimeToUtc(local, options.timezone);
  return { date, instant };
}

const ISO_START = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)/;

/** RFC 3339 / ISO 8601: with an offset it is exact; without, it is local time in the zone. */
function parseIso(value: string, timezone: string): ParsedDate | undefined {
  const start = ISO_START.exec(value);
  if (!start) return undefined;
  const [, y, m, d] = start;
  if (!validParts({ year: Number(y), month: Number(m), day: Number(d), hour: 0, minute: 0, second: 0 }))
    return undefined;
  const instant = normalizeTimestamp(value, timezone);
  return instant ? { date: value.slice(0, 10), instant } : undefined;
}

function fromInstant(instant: Date, timezone: string): ParsedDate {
  const date = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return { date: date.format(instant), instant };
}

function validParts(p: {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}) {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.hour > 23 || p.minute > 59 || p.second > 59) return false;
  const daysInMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
  return p.day <= daysInMonth;
}

function withMonthIndex(local: readonly [number, number, number, number, number, number, number]) {
  const [y, mo, d, h, mi, s, ms] = local;
  return [y, mo - 1, d, h, mi, s, ms] as const;
}

function offsetMinutes(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}

/** The year of the greatest starting row at or before this row. */
export function yearForRow(
  yearByRow: Record<string, number> | undefined,
  rowNumber: number,
): number | undefined {
  if (!yearByRow) return undefined;
  let best: { from: number; year: number } | undefined;
  for (const [from, year] of Object.entries(yearByRow)) {
    const start = Number(from);
    if (start <= rowNumber && (!best || start > best.from)) best = { from: start, year };
  }
  return best?.year;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
