// The CSV mapping file: which event a row becomes, and how each field of its data is read from the columns.
// The zod schema is the contract (mapping files are YAML; the README's "CSV mapping format" documents it);
// `mapRow` applies a mapping to one row. Pure: no I/O.
import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import YAML from 'yaml';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import {
  EVENT_CATALOGUE,
  rememberCheckedData,
  EVENT_TYPES,
  isKnownEventType,
  type CloudEvent,
  type EventType,
} from '../catalogue.ts';
import { contactIdentity, type ContactRef } from '../identity-keys.ts';
import { companyDomainFromEmail, isValidTimeZone, normalizeDomain, normalizeEmail } from '../normalize.ts';
import { sourceInputSchema } from '../sources.ts';
import { castValue, formatHasYear, formatProblem, parseDate, parseNumber, VALUE_TYPES } from './values.ts';

export const DERIVATIONS = [
  'domain_from_email',
  'domain_from_url',
  'lowercase',
  'concat',
  'first_item',
] as const;

const column = z.string().min(1, 'a column name must not be empty');
const timezone = z
  .string()
  .refine(isValidTimeZone, 'must be an IANA time zone such as "Europe/Berlin" or "UTC"');
const formats = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const yearByRow = z.record(
  z.string().regex(/^[1-9]\d*$/, 'keys are row numbers (1 = the first data row)'),
  z.number().int(),
);
const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** A column name given alone stands for `{ column: <name> }`. */
const columnShorthand = (value: unknown) => (typeof value === 'string' ? { column: value } : value);

const valueShape = {
  column: column.optional(),
  columns: z.array(column).min(1).optional(),
  template: z.string().min(1).optional(),
  derive: z.enum(DERIVATIONS).optional(),
  from: z.union([column, z.array(column).min(1)]).optional(),
  separator: z.string().optional(),
  type: z.enum(VALUE_TYPES).optional(),
  format: formats.optional(),
  timezone: timezone.optional(),
  year_by_row: yearByRow.optional(),
  decimal: z.enum(['.', ',']).optional(),
  map: z.record(z.string(), z.unknown()).optional(),
  otherwise: z.unknown().optional(),
  default: z.unknown().optional(),
  required: z.boolean().optional(),
  trim: z.boolean().optional(),
};

const fieldObject = z.object({ ...valueShape, constant: z.unknown().optional() }).strict();
const fieldSpecSchema = z.preprocess(columnShorthand, fieldObject.superRefine(checkValueSpec));

const outcomeObject = z
  .object({
    ...valueShape,
    name: z.string().trim().min(1).max(100),
    positive: z.array(scalar).min(1).optional(),
    when: z
      .object({ column, in: z.array(scalar).min(1) })
      .strict()
      .optional(),
  })
  .strict();
const outcomeSchema = outcomeObject.superRefine(checkValueSpec);

const isoStart = z
  .string()
  .refine((v) => parseDate(v, { formats: ['iso'], timezone: 'UTC', rowNumber: 1 }) !== undefined, {
    message: 'must be an ISO date-time such as "2020-01-01T00:00:00Z"',
  });
const timeObject = z
  .object({
    column: column.optional(),
    columns: z.array(column).min(1).optional(),
    template: z.string().min(1).optional(),
    constant: isoStart.optional(),
    from_row: z.object({ start: isoStart, step_seconds: z.number() }).strict().optional(),
    from_number: z
      .object({ column, origin: z.number().default(0), start: isoStart, step_seconds: z.number() })
      .strict()
      .optional(),
    format: formats.optional(),
    timezone: timezone.optional(),
    year_by_row: yearByRow.optional(),
    /** When the column(s) are empty: a fixed time (e.g. the date the export was taken). */
    default: isoStart.optional(),
  })
  .strict();
const timeSpecSchema = z.preprocess(
  columnShorthand,
  timeObject.superRefine((spec, ctx) => {
    exactlyOne(spec, ['column', 'columns', 'template', 'constant', 'from_row', 'from_number'], ctx);
    checkFormats({ ...spec, type: 'datetime' }, ctx);
  }),
);

const idObject = z
  .object({
    column: column.optional(),
    template: z.string().min(1).optional(),
    hash: z.enum(['row', 'row_and_number']).optional(),
  })
  .strict();
const idSpecSchema = z.preprocess(
  (value) => (value === 'hash' ? { hash: 'row' } : value),
  idObject.superRefine((spec, ctx) => exactlyOne(spec, ['column', 'template', 'hash'], ctx)),
);

const eventObject = z
  .object({
    type: z.enum(EVENT_TYPES as [EventType, ...EventType[]], {
      error: (issue) =>
        issue.input === undefined
          ? 'is required'
          : 'must be an event type from the catalogue, e.g. crm.contact.updated',
    }),
    id: idSpecSchema,
    time: timeSpecSchema,
  })
  .strict();

const csvObject = z
  .object({
    delimiter: z
      .string()
      .refine(
        (v) => v === 'auto' || v === 'tab' || v.length === 1,
        'must be "auto", "tab" or one character such as ";"',
      )
      .default('auto'),
    encoding: z
      .string()
      .refine(
        (v) => iconv.encodingExists(v),
        'is not an encoding we know; use e.g. utf-8, latin1, windows-1252, utf-16le',
      )
      .default('utf-8'),
    quote: z.string().length(1, "must be one character, e.g. '\"'").default('"'),
    header: z.boolean().default(true),
    columns: z.array(column).min(1).optional(),
    skip_lines: z.number().int().min(0).default(0),
    end_marker: z.string().min(1).optional(),
  })
  .strict();

const fieldPath = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/,
    'a field path is names joined by dots, e.g. contact.email',
  );

const mappingObject = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i, 'must be letters, digits and . _ - (e.g. "hubspot-contacts")'),
    version: z
      .union([z.number().int().min(0), z.string().regex(/^[A-Za-z0-9._-]{1,50}$/)], {
        error: (issue) =>
          issue.input === undefined ? 'is required' : 'must be a number or a short text such as "2024-05"',
      })
      .transform(String),
    description: z.string().optional(),
    source: sourceInputSchema.shape.name,
    timezone: timezone.default('UTC'),
    csv: csvObject.prefault({}),
    event: eventObject,
    fields: z.record(fieldPath, fieldSpecSchema).default({}),
    outcomes: z.array(outcomeSchema).default([]),
  })
  .strict();

export const mappingSchema = mappingObject.superRefine((mapping, ctx) => {
  // Refinements also run on a partly invalid mapping: look only at what is there.
  if (mapping.csv && !mapping.csv.header && !mapping.csv.columns) {
    ctx.addIssue({
      code: 'custom',
      path: ['csv', 'columns'],
      message: 'give the column names when the file has no header row',
    });
  }
  const type = mapping.event?.type;
  const paths = Object.keys(mapping.fields ?? {});
  for (const path of paths) {
    const problem = type && isKnownEventType(type) ? pathProblem(type, path) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['fields', path], message: problem });
    const parent = paths.find((other) => path.startsWith(`${other}.`));
    if (parent)
      ctx.addIssue({
        code: 'custom',
        path: ['fields', path],
        message: `"${parent}" is set as a whole already`,
      });
  }
  const names = (mapping.outcomes ?? []).map((o) => o.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i)
      ctx.addIssue({ code: 'custom', path: ['outcomes', i, 'name'], message: `"${name}" is used twice` });
  });
});

export type Mapping = z.output<typeof mappingSchema>;
export type FieldSpec = z.output<typeof fieldObject>;
export type OutcomeSpec = z.output<typeof outcomeObject>;
type TimeSpec = z.output<typeof timeObject>;
type ValueSpec = Omit<FieldSpec, 'constant'>;

export interface LoadedMapping {
  mapping: Mapping;
  /** `name@version#<first 12 hex of the file's sha256>`: stored with every event and quarantined row. */
  version: string;
}

type Ctx = z.RefinementCtx;

function exactlyOne(spec: Record<string, unknown>, keys: string[], ctx: Ctx): void {
  const given = keys.filter((k) => spec[k] !== undefined || (k === 'constant' && 'constant' in spec));
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        given.length === 0
          ? `say where the value comes from with one of: ${keys.join(', ')}`
          : `use only one of ${given.join(', ')}`,
    });
  }
}

function checkValueSpec(spec: ValueSpec & { constant?: unknown }, ctx: Ctx): void {
  const sources = ['column', 'columns', 'template', 'derive', ...('constant' in spec ? ['constant'] : [])];
  exactlyOne(spec, sources, ctx);
  if (spec.derive && !spec.from)
    ctx.addIssue({
      code: 'custom',
      path: ['from'],
      message: `derive: ${spec.derive} needs "from" (the column or columns)`,
    });
  if (spec.from && !spec.derive)
    ctx.addIssue({ code: 'custom', path: ['from'], message: '"from" is only used with derive' });
  if ('constant' in spec) {
    const extra = Object.keys(spec).filter((k) => k !== 'constant');
    if (extra.length > 0)
      ctx.addIssue({
        code: 'custom',
        message: `a constant takes no other settings (got ${extra.join(', ')})`,
      });
  }
  if (spec.decimal && spec.type !== 'number' && spec.type !== 'integer') {
    ctx.addIssue({
      code: 'custom',
      path: ['decimal'],
      message: 'decimal is only used with type number or integer',
    });
  }
  checkFormats(spec, ctx);
}

function checkFormats(
  spec: { type?: string | undefined; format?: string | string[] | undefined; year_by_row?: unknown },
  ctx: Ctx,
): void {
  const isDate = spec.type === 'date' || spec.type === 'datetime';
  if (!isDate && (spec.format || spec.year_by_row)) {
    ctx.addIssue({
      code: 'custom',
      path: ['format'],
      message: 'format and year_by_row are only used with type date or datetime',
    });
    return;
  }
  for (const format of listOf(spec.format)) {
    const problem = formatProblem(format);
    if (problem) ctx.addIssue({ code: 'custom', path: ['format'], message: problem });
    else if (!formatHasYear(format) && !spec.year_by_row) {
      ctx.addIssue({
        code: 'custom',
        path: ['format'],
        message: `date format "${format}" has no year: add year_by_row`,
      });
    }
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable)
    s = s.unwrap() as z.ZodType;
  return s;
}

/** Whether the event type's data has this path (a typo would otherwise be dropped silently by the schema). */
function pathProblem(type: EventType, path: string): string | undefined {
  let schema: z.ZodType = EVENT_CATALOGUE[type];
  const segments = path.split('.');
  for (let i = 0; i < segments.length; i++) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodRecord) return undefined;
    const here = segments.slice(0, i + 1).join('.');
    if (!(schema instanceof z.ZodObject))
      return `"${segments.slice(0, i).join('.')}" is a single value; it has no "${segments[i]}"`;
    const shape = schema.shape as Record<string, z.ZodType>;
    if (!Object.hasOwn(shape, segments[i]!)) {
      return `${type} has no field "${here}"; ${i === 0 ? 'its fields are' : `"${segments.slice(0, i).join('.')}" has`}: ${Object.keys(shape).join(', ')} (free-form values go under attributes.<name>)`;
    }
    schema = shape[segments[i]!]!;
  }
  return undefined;
}

/** Parses and checks a mapping file's text. `origin` names it in messages (e.g. the file name). */
export function parseMapping(text: string, origin = 'the mapping'): LoadedMapping {
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (error) {
    throw new AppError('validation_failed', `${origin} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = mappingSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({
      path: issue.path.join('.') || '(top level)',
      message: issueMessage(issue),
    }));
    throw new AppError(
      'validation_failed',
      `${origin} is not a valid mapping: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { mapping: parsed.data, version: `${parsed.data.name}@${parsed.data.version}#${digest}` };
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return 'is required';
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const allowed = allowedKeys(issue.path);
  const keys = issue.keys.map((k) => `"${k}"`).join(', ');
  return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${allowed ? `; allowed here: ${allowed.join(', ')}` : ''}`;
}

function allowedKeys(path: PropertyKey[]): string[] | undefined {
  const [first, second, third] = path;
  const keysOf = (o: z.ZodObject) => Object.keys(o.shape);
  if (path.length === 0) return keysOf(mappingObject);
  if (first === 'csv') return keysOf(csvObject);
  if (first === 'event' && path.length === 1) return keysOf(eventObject);
  if (first === 'event' && second === 'id') return keysOf(idObject);
  if (first === 'event' && second === 'time' && path.length === 2) return keysOf(timeObject);
  if (first === 'event' && second === 'time' && third === 'from_row') return ['start', 'step_seconds'];
  if (first === 'event' && second === 'time' && third === 'from_number')
    return ['column', 'origin', 'start', 'step_seconds'];
  if (first === 'fields' && path.length === 2) return keysOf(fieldObject);
  if (first === 'outcomes' && path.length === 2) return keysOf(outcomeObject);
  if (first === 'outcomes' && third === 'when') return ['column', 'in'];
  return undefined;
}

// ---- the columns a mapping reads ----

export interface ColumnUse {
  /** Any one of these columns is enough (most uses name one). */
  columns: string[];
  usedBy: string;
  required: boolean;
}

/** Every column the mapping reads, to check a file's header before importing anything. */
export function columnUses(mapping: Mapping): ColumnUse[] {
  const uses: ColumnUse[] = [];
  const add = (spec: Partial<ValueSpec>, usedBy: string, required: boolean) => {
    if (spec.column) uses.push({ columns: [spec.column], usedBy, required });
    if (spec.columns) uses.push({ columns: spec.columns, usedBy, required });
    for (const name of spec.template ? placeholders(spec.template) : [])
      uses.push({ columns: [name], usedBy, required });
    for (const name of listOf(spec.from)) uses.push({ columns: [name], usedBy, required: false });
  };
  const { id, time } = mapping.event;
  add(id, 'event.id', true);
  add(time, 'event.time', true);
  if (time.from_number)
    uses.push({ columns: [time.from_number.column], usedBy: 'event.time', required: true });
  for (const [path, spec] of Object.entries(mapping.fields))
    add(spec, `fields.${path}`, Boolean(spec.required));
  for (const outcome of mapping.outcomes) {
    add(outcome, `outcomes.${outcome.name}`, Boolean(outcome.required));
    if (outcome.when)
      uses.push({ columns: [outcome.when.column], usedBy: `outcomes.${outcome.name}.when`, required: false });
  }
  return uses;
}

/** Which columns the mapping needs that the header lacks. */
export function checkHeader(
  mapping: Mapping,
  header: string[],
): { missingRequired: string[]; missingOptional: string[] } {
  const present = new Set(header);
  const missingRequired: string[] = [];
  const missingOptional: string[] = [];
  for (const use of columnUses(mapping)) {
    if (use.columns.some((c) => present.has(c))) continue;
    const text = `${use.columns.map((c) => `"${c}"`).join(' or ')} (for ${use.usedBy})`;
    (use.required ? missingRequired : missingOptional).push(text);
  }
  return { missingRequired: [...new Set(missingRequired)], missingOptional: [...new Set(missingOptional)] };
}

// ---- mapping one row ----

export type Row = Record<string, string>;

export interface RowError {
  field: string;
  column?: string;
  message: string;
}

export type MapResult =
  { event: CloudEvent; outcomes: CloudEvent[] } | { error: { reason: string; errors: RowError[] } };

/**
 * One CSV row (column -> text) to its event, plus an `outcome.observed` event per outcome column that has a
 * value. Everything is validated here against the catalogue, so a row that maps is a row that ingests, and a
 * row that does not is quarantined with its original text. `rowNumber` counts data rows from 1.
 */
export function mapRow(mapping: Mapping, row: Row, rowNumber: number): MapResult {
  const errors: RowError[] = [];
  const id = eventId(mapping, row, rowNumber, errors);
  const time = eventTime(mapping, row, rowNumber, errors);
  const data: Record<string, unknown> = {};
  for (const [path, spec] of Object.entries(mapping.fields)) {
    const result = readValue(spec, row, rowNumber, mapping.timezone);
    if ('error' in result) errors.push(rowError(`fields.${path}`, spec, result.error));
    else if (result.value !== undefined && result.value !== null) setPath(data, path, result.value);
  }
  if (errors.length === 0) errors.push(...validateData(mapping, mapping.event.type, data));
  const outcomes =
    errors.length === 0 ? outcomeEvents(mapping, row, rowNumber, data, id!, time!, errors) : [];
  if (errors.length > 0) {
    const reason = `row ${rowNumber}: ${errors.map((e) => `${e.field}${e.column ? ` (column "${e.column}")` : ''}: ${e.message}`).join('; ')}`;
    return { error: { reason, errors } };
  }
  return { event: cloudEvent(mapping, mapping.event.type, id!, time!, data, rowNumber), outcomes };
}

function cloudEvent(
  mapping: Mapping,
  type: string,
  id: string,
  time: string,
  data: unknown,
  rowNumber: number,
): CloudEvent {
  // `csvrow` (a CloudEvents extension attribute) keeps the row the event came from, for lineage.
  return {
    specversion: '1.0',
    id,
    source: mapping.source,
    type,
    time,
    datacontenttype: 'application/json',
    csvrow: rowNumber,
    data,
  };
}

function eventId(mapping: Mapping, row: Row, rowNumber: number, errors: RowError[]): string | undefined {
  const spec = mapping.event.id;
  if (spec.hash) {
    // Sorted by column, so the id is the same for a row read back from the quarantine (jsonb reorders keys).
    const entries = Object.entries(row).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const hash = createHash('sha256').update(JSON.stringify([mapping.event.type, entries]));
    if (spec.hash === 'row_and_number') hash.update(`#${rowNumber}`);
    return `row-${hash.digest('hex').slice(0, 32)}`;
  }
  const text = (
    spec.column !== undefined ? row[spec.column] : fillTemplate(spec.template!, row, rowNumber)
  )?.trim();
  if (!text) {
    errors.push({ field: 'event.id', ...columnOf(spec), message: 'the event id is empty' });
    return undefined;
  }
  if (text.length > 500) {
    errors.push({
      field: 'event.id',
      ...columnOf(spec),
      message: 'the event id is longer than 500 characters',
    });
    return undefined;
  }
  return text;
}

function eventTime(mapping: Mapping, row: Row, rowNumber: number, errors: RowError[]): string | undefined {
  const spec: TimeSpec = mapping.event.time;
  const zone = spec.timezone ?? mapping.timezone;
  const iso = (text: string) =>
    parseDate(text, { formats: ['iso'], timezone: zone, rowNumber })!.instant.getTime();
  const fail = (message: string, col?: string) => {
    errors.push({ field: 'event.time', ...(col ? { column: col } : {}), message });
    return undefined;
  };
  const at = (ms: number) =>
    Number.isFinite(ms) && Math.abs(ms) < 8.64e15
      ? new Date(ms).toISOString()
      : fail('the time is out of range');
  if (spec.constant !== undefined) return new Date(iso(spec.constant)).toISOString();
  if (spec.default !== undefined && !hasText(spec, row)) return new Date(iso(spec.default)).toISOString();
  if (spec.from_row)
    return at(iso(spec.from_row.start) + (rowNumber - 1) * spec.from_row.step_seconds * 1000);
  if (spec.from_number) {
    const { column: col, origin, start, step_seconds } = spec.from_number;
    const number = parseNumber(row[col]?.trim() ?? '');
    if (number === undefined) return fail(`"${row[col] ?? ''}" is not a number`, col);
    return at(iso(start) + (number - origin) * step_seconds * 1000);
  }
  const result = readValue(
    { ...spec, type: 'datetime', required: spec.default === undefined },
    row,
    rowNumber,
    mapping.timezone,
  );
  if ('error' in result) {
    errors.push(rowError('event.time', spec, result.error));
    return undefined;
  }
  return result.value as string;
}

function outcomeEvents(
  mapping: Mapping,
  row: Row,
  rowNumber: number,
  data: Record<string, unknown>,
  id: string,
  time: string,
  errors: RowError[],
): CloudEvent[] {
  const events: CloudEvent[] = [];
  const refs = Object.fromEntries(
    ['contact', 'account', 'opportunity'].filter((k) => data[k] !== undefined).map((k) => [k, data[k]]),
  );
  for (const spec of mapping.outcomes) {
    if (spec.when && !matchesAny(row[spec.when.column] ?? '', spec.when.in)) continue;
    const result = readValue(spec, row, rowNumber, mapping.timezone);
    if ('error' in result) {
      errors.push(rowError(`outcomes.${spec.name}`, spec, result.error));
      continue;
    }
    if (result.value === undefined || result.value === null) continue;
    if (Object.keys(refs).length === 0) {
      errors.push({
        field: `outcomes.${spec.name}`,
        message: 'an outcome needs the event to name a contact, account or opportunity',
      });
      continue;
    }
    const value = typeof result.value === 'object' ? JSON.stringify(result.value) : result.value;
    const outcome = {
      ...refs,
      name: spec.name,
      value,
      ...(spec.positive ? { positive: matchesAny(String(value), spec.positive) } : {}),
    };
    const problems = validateData(mapping, 'outcome.observed', outcome, `outcomes.${spec.name}`);
    if (problems.length > 0) errors.push(...problems);
    else events.push(cloudEvent(mapping, 'outcome.observed', `${id}#${spec.name}`, time, outcome, rowNumber));
  }
  return events;
}

function matchesAny(value: string, candidates: (string | number | boolean)[]): boolean {
  const text = value.trim().toLowerCase();
  return candidates.some((c) => String(c).toLowerCase() === text);
}

/** The catalogue's schema and the identity rule, with each problem traced back to the columns behind it. */
function validateData(mapping: Mapping, type: EventType, data: unknown, prefix?: string): RowError[] {
  const parsed = EVENT_CATALOGUE[type].safeParse(data);
  if (parsed.success && typeof data === 'object' && data !== null)
    rememberCheckedData(type, data, parsed.data);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      const field = prefix ? `${prefix}.${path}` : fieldFor(mapping, path);
      const spec = prefix ? undefined : mapping.fields[field.replace(/^fields\./, '')];
      return { field, ...(spec ? columnOf(spec) : {}), message: issue.message };
    });
  }
  const contact = (parsed.data as { contact?: ContactRef }).contact;
  const identity = contactIdentity(contact, mapping.source);
  if (identity.problems.length > 0 && !identity.strong) {
    const spec = mapping.fields['contact.email'];
    return [
      {
        field: prefix ?? 'fields.contact.email',
        ...(spec ? columnOf(spec) : {}),
        message: `${identity.problems.join('; ')}, and nothing else identifies the contact`,
      },
    ];
  }
  return [];
}

/** The mapping field that produced (or contains) a data path, e.g. "contact" for the refine on contact. */
function fieldFor(mapping: Mapping, path: string): string {
  const paths = Object.keys(mapping.fields);
  const exact =
    paths.find((p) => p === path) ??
    paths.filter((p) => path.startsWith(`${p}.`)).sort((a, b) => b.length - a.length)[0];
  if (exact) return `fields.${exact}`;
  const inside = paths.filter((p) => p.startsWith(`${path}.`));
  return inside.length > 0 ? `fields.${inside.join(', fields.')}` : `data.${path || '(root)'}`;
}

function rowError(field: string, spec: Partial<ValueSpec>, message: string): RowError {
  return { field, ...columnOf(spec), message };
}

function columnOf(spec: Partial<ValueSpec>): { column?: string } {
  const names = spec.column
    ? [spec.column]
    : (spec.columns ?? (spec.template ? placeholders(spec.template) : listOf(spec.from)));
  return names.length > 0 ? { column: names.join(', ') } : {};
}

type ReadResult = { value: unknown } | { error: string };

/** The value a spec gives for a row: read, trimmed, mapped, defaulted, checked and cast. */
function readValue(
  spec: ValueSpec & { constant?: unknown },
  row: Row,
  rowNumber: number,
  zone: string,
): ReadResult {
  if ('constant' in spec) return { value: spec.constant };
  const text = rawText(spec, row, rowNumber);
  let value: unknown = text === undefined || spec.trim === false ? text : text.trim();
  if (spec.map && typeof value === 'string') value = applyMap(spec, value);
  if (value === undefined || value === null || value === '') {
    if (spec.default !== undefined && spec.default !== null) value = spec.default;
    else if (spec.required)
      return {
        error: text === undefined ? 'the column is not in the file' : 'the value is empty but required',
      };
    else return { value: undefined };
  }
  if (!spec.type) return { value };
  const cast = castValue(value, spec.type, {
    formats: spec.format ? listOf(spec.format) : ['iso'],
    timezone: spec.timezone ?? zone,
    decimal: spec.decimal ?? '.',
    yearByRow: spec.year_by_row,
    rowNumber,
  });
  return cast.ok ? { value: cast.value } : { error: cast.message };
}

/** The text behind a value; undefined when none of its columns is in the row at all. */
function rawText(spec: ValueSpec, row: Row, rowNumber: number): string | undefined {
  if (spec.column !== undefined) return row[spec.column];
  if (spec.columns) {
    const values = spec.columns.map((c) => row[c]);
    if (values.every((v) => v === undefined)) return undefined;
    return values.find((v) => v !== undefined && v.trim() !== '') ?? '';
  }
  if (spec.template !== undefined) return fillTemplate(spec.template, row, rowNumber);
  const from = listOf(spec.from).map((c) => row[c]?.trim() ?? '');
  const first = from[0] ?? '';
  switch (spec.derive) {
    case 'lowercase':
      return first.toLowerCase();
    case 'concat':
      return from.filter((v) => v !== '').join(spec.separator ?? ' ');
    case 'first_item':
      return (
        first
          .split(spec.separator ?? ';')
          .map((v) => v.trim())
          .find((v) => v !== '') ?? ''
      );
    case 'domain_from_email':
      return companyDomainFromEmail(normalizeEmail(first)) ?? '';
    case 'domain_from_url':
      return normalizeDomain(first) ?? '';
    default:
      return undefined;
  }
}

function hasText(spec: ValueSpec, row: Row): boolean {
  const text = rawText(spec, row, 0);
  return text !== undefined && text.trim() !== '';
}

function applyMap(spec: ValueSpec, text: string): unknown {
  const map = spec.map!;
  if (Object.hasOwn(map, text)) return map[text];
  const lower = text.toLowerCase();
  const key = Object.keys(map).find((k) => k.toLowerCase() === lower);
  if (key !== undefined) return map[key];
  return 'otherwise' in spec ? spec.otherwise : text;
}

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]+)\}/g;

export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].flatMap((m) => (m[1] && m[1] !== '_row' ? [m[1]] : []));
}

/** "{First Name} {Last Name}"; `{_row}` is the row number; "{{" and "}}" are literal braces. Empty when every column is. */
function fillTemplate(template: string, row: Row, rowNumber: number): string | undefined {
  let anyColumn = false;
  let anyValue = false;
  const text = template.replace(PLACEHOLDER, (match, name: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    if (name === '_row') return String(rowNumber);
    const value = row[name!];
    if (value !== undefined) anyColumn = true;
    if (value !== undefined && value.trim() !== '') anyValue = true;
    return value?.trim() ?? '';
  });
  const names = placeholders(template);
  if (names.length > 0 && !anyColumn) return undefined;
  return names.length > 0 && !anyValue ? '' : text;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    if (typeof node[segment] !== 'object' || node[segment] === null) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[segments.at(-1)!] = value;
}

function listOf<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
