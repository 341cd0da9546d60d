import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHeader, mapRow, parseMapping, type MapResult, type Row } from './mapping.ts';
import { parseNumber } from './values.ts';

const root = path.resolve(import.meta.dirname, '../../..');

/** A contact mapping with the given fields (YAML lines under `fields:`) and extra top-level YAML. */
function contactMapping(
  fields: string,
  extra = '',
  time = '{ column: Created, format: [DD/MM/YYYY HH:mm, YYYY-MM-DD, iso] }',
) {
  return parseMapping(
    [
      'name: test-contacts',
      'version: 3',
      'source: test-crm',
      'timezone: Europe/Berlin',
      'event:',
      '  type: crm.contact.updated',
      "  id: { template: 'c-{ID}' }",
      `  time: ${time}`,
      'fields:',
      '  contact.crm_id: { column: ID, required: true }',
      ...fields
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => `  ${line.trim()}`),
      extra,
    ].join('\n'),
  );
}

const base: Row = { ID: '7', Created: '31/03/2024 09:30' };

function ok(result: MapResult) {
  if ('error' in result) throw new Error(result.error.reason);
  return result;
}
function failed(result: MapResult) {
  if (!('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}
const data = (result: MapResult) => ok(result).event.data as Record<string, any>;

describe('mapping files', () => {
  it('gives a version of name, version and the first 12 hex of the file hash', () => {
    const loaded = contactMapping('first_name: First');
    expect(loaded.version).toMatch(/^test-contacts@3#[0-9a-f]{12}$/);
    expect(contactMapping('first_name: First').version).toBe(loaded.version);
    expect(contactMapping('first_name: Given').version).not.toBe(loaded.version);
  });

  it('rejects unknown keys and names them, with the keys allowed there', () => {
    expect(() => contactMapping('first_name: { column: First, colour: red }', 'bogus: 1')).toThrow(
      /fields\.first_name: unknown key "colour"; allowed here: column, columns.*\(top level\): unknown key "bogus"/,
    );
    expect(() => contactMapping('first_name: First', 'csv: { delimeter: ";" }')).toThrow(
      /csv: unknown key "delimeter"; allowed here: delimiter/,
    );
  });

  it('rejects data fields the event type does not have, instead of dropping them', () => {
    expect(() => contactMapping('firstname: First')).toThrow(
      /crm\.contact\.updated has no field "firstname"; its fields are: contact, account, first_name/,
    );
    expect(() => contactMapping('contact.mail: Email')).toThrow(
      /"contact" has: crm_id, email, phone, anonymous_id/,
    );
    expect(() => contactMapping('attributes.anything.nested: X')).not.toThrow();
  });

  it('rejects an unusable spec with a message that says how to fix it', () => {
    expect(() => contactMapping('first_name: { column: A, template: "{B}" }')).toThrow(
      /use only one of column, template/,
    );
    expect(() => contactMapping('first_name: { type: string }')).toThrow(/say where the value comes from/);
    expect(() => contactMapping('attributes.d: { column: D, type: date, format: DD/MM }')).toThrow(
      /has no year: add year_by_row/,
    );
    expect(() =>
      contactMapping('attributes.d: { column: D, type: date, format: "hh:mm DD/MM/YYYY" }'),
    ).toThrow(/12-hour clock/);
    expect(() => contactMapping('attributes.n: { column: N, format: YYYY }')).toThrow(
      /only used with type date or datetime/,
    );
    expect(() => contactMapping('first_name: F', "csv: { encoding: 'klingon' }")).toThrow(
      /csv\.encoding: is not an encoding/,
    );
    expect(() =>
      parseMapping('name: x\nversion: 1\nsource: s\nevent: { type: crm.nothing, id: hash, time: T }'),
    ).toThrow(/event\.type: must be an event type from the catalogue/);
    expect(() =>
      parseMapping('name: x\nsource: s\nevent: { type: crm.contact.updated, id: hash, time: T }'),
    ).toThrow(/version: is required/);
    expect(() => parseMapping('name: [')).toThrow(/not valid YAML/);
  });

  it('every shipped mapping and every example mapping is valid', () => {
    const files = [
      ...readdirSync(path.join(root, 'mappings')).map((f) => path.join(root, 'mappings', f)),
      ...readdirSync(path.join(root, 'examples/mappings')).map((f) =>
        path.join(root, 'examples/mappings', f),
      ),
    ].filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files)
      expect(() => parseMapping(readFileSync(file, 'utf8'), file), file).not.toThrow();
  });
});

describe('mapRow: values', () => {
  it('casts integers, numbers (with grouping and currency), booleans and strings', () => {
    const mapping = contactMapping(`
      attributes.i: { column: I, type: integer }
      attributes.n: { column: N, type: number }
      attributes.eu: { column: EU, type: number, decimal: ',' }
      attributes.b: { column: B, type: boolean }
      attributes.s: { column: S }
      attributes.raw: { column: S, trim: false }`);
    const row = { ...base, I: ' 1,200 ', N: 'USD 12,345.50', EU: '1.234,5', B: 'Yes', S: '  text ' };
    expect(data(mapRow(mapping.mapping, row, 1)).attributes).toEqual({
      i: 1200,
      n: 12345.5,
      eu: 1234.5,
      b: true,
      s: 'text',
      raw: '  text ',
    });
    const bad = failed(mapRow(mapping.mapping, { ...row, I: '1.5', N: '1,5', B: 'maybe' }, 4));
    expect(bad.errors).toEqual([
      { field: 'fields.attributes.i', column: 'I', message: '"1.5" is not a whole number' },
      { field: 'fields.attributes.n', column: 'N', message: '"1,5" is not a number' },
      {
        field: 'fields.attributes.b',
        column: 'B',
        message: expect.stringMatching(/"maybe" is not a yes\/no value/),
      },
    ]);
    expect(bad.reason).toMatch(
      /^row 4: fields\.attributes\.i \(column "I"\): "1\.5" is not a whole number; /,
    );
  });

  it('reads numbers without guessing: a lone comma is never a thousands separator', () => {
    expect(parseNumber('1,234,567.8')).toBe(1234567.8);
    expect(parseNumber('12 %')).toBe(12);
    expect(parseNumber('-3e2')).toBe(-300);
    expect(parseNumber('1,5')).toBeUndefined();
    expect(parseNumber('1,5', ',')).toBe(1.5);
    expect(parseNumber('abc')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
  });

  it('reads dates and date-times in formats and time zones', () => {
    const mapping = contactMapping(`
      attributes.local: { column: L, type: datetime, format: DD/MM/YYYY HH:mm }
      attributes.us: { column: US, type: datetime, format: M/D/YYYY h:mm A, timezone: America/New_York }
      attributes.day: { column: US, type: date, format: [M/D/YYYY h:mm A] }
      attributes.iso: { column: ISO, type: datetime }
      attributes.iso_local: { column: ISOL, type: datetime }
      attributes.secs: { column: S, type: datetime, format: unix_seconds }
      attributes.ms: { column: MS, type: datetime, format: unix_ms }
      attributes.named: { column: NM, type: date, format: D MMM YYYY }`);
    const row = {
      ...base,
      L: '15/01/2024 09:30', // CET, +01:00
      US: '7/4/2024 2:05 PM', // EDT, -04:00
      ISO: '2024-07-01T12:00:00+02:00',
      ISOL: '2024-07-01 12:00', // CEST, +02:00 (the mapping's zone)
      S: '1700000000',
      MS: '1700000000123',
      NM: '5 Sep 2024',
    };
    expect(data(mapRow(mapping.mapping, row, 1)).attributes).toEqual({
      local: '2024-01-15T08:30:00.000Z',
      us: '2024-07-04T18:05:00.000Z',
      day: '2024-07-04',
      iso: '2024-07-01T10:00:00.000Z',
      iso_local: '2024-07-01T10:00:00.000Z',
      secs: '2023-11-14T22:13:20.000Z',
      ms: '2023-11-14T22:13:20.123Z',
      named: '2024-09-05',
    });
    expect(ok(mapRow(mapping.mapping, row, 1)).event.time).toBe('2024-03-31T07:30:00.000Z'); // CEST after the switch
    const bad = failed(mapRow(mapping.mapping, { ...row, L: '30/02/2024 09:30' }, 9));
    expect(bad.errors[0]).toMatchObject({
      field: 'fields.attributes.local',
      column: 'L',
      message: expect.stringContaining('"30/02/2024 09:30" does not match'),
    });
  });

  it('takes the year from the row number when the format has none', () => {
    const mapping = contactMapping(
      '',
      '',
      "{ template: '{day} {month}', format: D MMM, year_by_row: { 1: 2008, 3: 2009 }, timezone: UTC }",
    );
    const at = (day: string, month: string, rowNumber: number) =>
      ok(mapRow(mapping.mapping, { ID: '1', day, month }, rowNumber)).event.time;
    expect(at('5', 'may', 1)).toBe('2008-05-05T00:00:00.000Z');
    expect(at('31', 'dec', 2)).toBe('2008-12-31T00:00:00.000Z');
    expect(at('2', 'jan', 3)).toBe('2009-01-02T00:00:00.000Z');
  });

  it('derives the time from the row number or a sequence column, or uses a constant', () => {
    const fromRow = contactMapping(
      '',
      '',
      "{ from_row: { start: '2020-01-01T00:00:00Z', step_seconds: 3600 } }",
    );
    expect(ok(mapRow(fromRow.mapping, { ID: '1' }, 1)).event.time).toBe('2020-01-01T00:00:00.000Z');
    expect(ok(mapRow(fromRow.mapping, { ID: '1' }, 25)).event.time).toBe('2020-01-02T00:00:00.000Z');
    const fromNumber = contactMapping(
      '',
      '',
      "{ from_number: { column: Seq, origin: 100, start: '2020-01-01T00:00:00Z', step_seconds: 60 } }",
    );
    expect(ok(mapRow(fromNumber.mapping, { ID: '1', Seq: '110' }, 1)).event.time).toBe(
      '2020-01-01T00:10:00.000Z',
    );
    expect(failed(mapRow(fromNumber.mapping, { ID: '1', Seq: 'x' }, 1)).errors[0]).toMatchObject({
      field: 'event.time',
      column: 'Seq',
    });
    const constant = contactMapping('', '', "{ constant: '2021-06-01T12:00:00' }");
    expect(ok(mapRow(constant.mapping, { ID: '1' }, 1)).event.time).toBe('2021-06-01T10:00:00.000Z');
    const fallback = contactMapping(
      '',
      '',
      "{ columns: [Closed, Opened], format: YYYY-MM-DD, default: '2022-01-01T00:00:00Z' }",
    );
    expect(ok(mapRow(fallback.mapping, { ID: '1', Closed: '', Opened: '2021-03-04' }, 1)).event.time).toBe(
      '2021-03-03T23:00:00.000Z',
    );
    expect(ok(mapRow(fallback.mapping, { ID: '1', Closed: '', Opened: '' }, 1)).event.time).toBe(
      '2022-01-01T00:00:00.000Z',
    );
  });

  it('maps values: exact, then ignoring case; null means empty; otherwise and default fill in', () => {
    const mapping = contactMapping(`
      lifecycle_stage: { column: Stage, map: { Marketing Qualified Lead: mql, Customer: customer }, otherwise: lead }
      attributes.city: { column: City, map: { Select: null }, default: unknown }
      attributes.flag: { column: Flag, map: { J: true, N: false }, type: boolean }`);
    const attrs = (row: Row) => data(mapRow(mapping.mapping, { ...base, ...row }, 1));
    expect(attrs({ Stage: 'Marketing Qualified Lead', City: 'Paris', Flag: 'J' })).toMatchObject({
      lifecycle_stage: 'mql',
      attributes: { city: 'Paris', flag: true },
    });
    expect(attrs({ Stage: 'customer', City: 'Select', Flag: 'n' })).toMatchObject({
      lifecycle_stage: 'customer',
      attributes: { city: 'unknown', flag: false },
    });
    expect(attrs({ Stage: 'Evangelist', City: '', Flag: '' })).toMatchObject({
      lifecycle_stage: 'lead',
      attributes: { city: 'unknown' },
    });
  });

  it('sets constants, fills templates and derives simple values', () => {
    const mapping = contactMapping(`
      contact.email: Email
      country: { constant: PT }
      attributes.tags: { constant: [a, b] }
      attributes.full_name: { template: '{First} {Last}' }
      attributes.line: { template: 'row {_row}: {{{First}}}' }
      account.domain: { derive: domain_from_email, from: Email }
      attributes.site: { derive: domain_from_url, from: Website }
      attributes.lower: { derive: lowercase, from: Source }
      attributes.joined: { derive: concat, from: [First, Middle, Last], separator: '-' }
      attributes.first_company: { derive: first_item, from: Companies }`);
    const row = {
      ...base,
      Email: 'Ann@Acme-Robotics.com',
      First: 'Ann',
      Middle: '',
      Last: 'Archer',
      Website: 'https://www.Acme.io/about',
      Source: 'GOOGLE',
      Companies: ' ;501; 502',
    };
    expect(data(mapRow(mapping.mapping, row, 12))).toEqual({
      contact: { crm_id: '7', email: 'Ann@Acme-Robotics.com' },
      country: 'PT',
      account: { domain: 'acme-robotics.com' },
      attributes: {
        tags: ['a', 'b'],
        full_name: 'Ann Archer',
        line: 'row 12: {Ann}',
        site: 'acme.io',
        lower: 'google',
        joined: 'Ann-Archer',
        first_company: '501',
      },
    });
    const freeMail = data(
      mapRow(mapping.mapping, { ...row, Email: 'ann@gmail.com', First: '', Last: '' }, 1),
    );
    expect(freeMail.account).toBeUndefined();
    expect(freeMail.attributes.full_name).toBeUndefined();
  });

  it('names the column and the row when a required value is missing or empty', () => {
    const mapping = contactMapping('contact.email: { column: Email, required: true }');
    const missing = failed(mapRow(mapping.mapping, { ...base }, 42));
    expect(missing.errors).toEqual([
      { field: 'fields.contact.email', column: 'Email', message: 'the column is not in the file' },
    ]);
    expect(missing.reason).toBe(
      'row 42: fields.contact.email (column "Email"): the column is not in the file',
    );
    const empty = failed(mapRow(mapping.mapping, { ...base, Email: '  ' }, 43));
    expect(empty.reason).toBe(
      'row 43: fields.contact.email (column "Email"): the value is empty but required',
    );
    expect(failed(mapRow(mapping.mapping, { ...base, ID: '', Email: 'a@b.co' }, 44)).errors[0]).toMatchObject(
      { field: 'event.id', column: 'ID' },
    );
  });

  it('checks the data against the catalogue and the identity rule, naming the columns', () => {
    const accounts = parseMapping(
      "name: a\nversion: 1\nsource: s\nevent: { type: crm.account.updated, id: { column: ID }, time: { constant: '2024-01-01T00:00:00Z' } }\nfields:\n  account.crm_id: ID\n  employees: { column: Staff, type: number }",
    );
    expect(failed(mapRow(accounts.mapping, { ID: '1', Staff: '-5' }, 2)).errors).toEqual([
      { field: 'fields.employees', column: 'Staff', message: expect.stringMatching(/>=0/) },
    ]);
    const contacts = parseMapping(
      "name: c\nversion: 1\nsource: s\nevent: { type: crm.contact.updated, id: hash, time: { constant: '2024-01-01T00:00:00Z' } }\nfields:\n  contact.email: Email",
    );
    expect(failed(mapRow(contacts.mapping, { Email: 'not-an-address' }, 3)).errors[0]).toMatchObject({
      field: 'fields.contact.email',
      column: 'Email',
      message: expect.stringContaining('is not an email address'),
    });
    expect(failed(mapRow(contacts.mapping, { Email: '' }, 3)).errors[0]).toMatchObject({
      field: 'fields.contact.email',
    });
  });
});

describe('mapRow: events', () => {
  it('builds a CloudEvent from the mapping, with the row number for lineage', () => {
    const mapping = contactMapping('first_name: First');
    expect(ok(mapRow(mapping.mapping, { ...base, First: 'Ann' }, 5)).event).toEqual({
      specversion: '1.0',
      id: 'c-7',
      source: 'test-crm',
      type: 'crm.contact.updated',
      time: '2024-03-31T07:30:00.000Z',
      datacontenttype: 'application/json',
      csvrow: 5,
      data: { contact: { crm_id: '7' }, first_name: 'Ann' },
    });
  });

  it('hashes ids from the row, whatever the order of its columns, and optionally its number', () => {
    const byRow = contactMapping('first_name: First').mapping;
    byRow.event.id = { hash: 'row' };
    const a = ok(mapRow(byRow, { ID: '7', Created: '2024-01-01', First: 'Ann' }, 1)).event.id;
    expect(a).toMatch(/^row-[0-9a-f]{32}$/);
    expect(ok(mapRow(byRow, { First: 'Ann', Created: '2024-01-01', ID: '7' }, 9)).event.id).toBe(a);
    expect(ok(mapRow(byRow, { ID: '7', Created: '2024-01-01', First: 'Anne' }, 1)).event.id).not.toBe(a);
    const byNumber = { ...byRow, event: { ...byRow.event, id: { hash: 'row_and_number' as const } } };
    const row = { ID: '7', Created: '2024-01-01', First: 'Ann' };
    expect(ok(mapRow(byNumber, row, 1)).event.id).not.toBe(ok(mapRow(byNumber, row, 2)).event.id);
  });

  it('adds an outcome event per outcome column with a value, about the same contact', () => {
    const mapping = contactMapping(
      'first_name: First',
      [
        'outcomes:',
        '  - { column: Converted, name: converted, type: integer, positive: [1] }',
        '  - { column: Stage, name: won, positive: [Closed Won], when: { column: Stage, in: [closed won, closed lost] } }',
      ].join('\n'),
    );
    const result = ok(
      mapRow(mapping.mapping, { ...base, First: 'Ann', Converted: '1', Stage: 'Closed Won' }, 3),
    );
    expect(result.outcomes).toEqual([
      expect.objectContaining({
        id: 'c-7#converted',
        type: 'outcome.observed',
        time: result.event.time,
        data: { contact: { crm_id: '7' }, name: 'converted', value: 1, positive: true },
      }),
      expect.objectContaining({
        id: 'c-7#won',
        data: { contact: { crm_id: '7' }, name: 'won', value: 'Closed Won', positive: true },
      }),
    ]);
    const open = ok(mapRow(mapping.mapping, { ...base, Converted: '', Stage: 'Proposal' }, 4));
    expect(open.outcomes).toEqual([]);
    const lost = ok(mapRow(mapping.mapping, { ...base, Converted: '0', Stage: 'Closed Lost' }, 5));
    expect(lost.outcomes.map((o) => (o.data as any).positive)).toEqual([false, false]);
    expect(failed(mapRow(mapping.mapping, { ...base, Converted: 'yes' }, 6)).errors[0]).toMatchObject({
      field: 'outcomes.converted',
      column: 'Converted',
    });
  });
});

describe('checkHeader', () => {
  it('separates the columns a file must have from the ones that may be missing', () => {
    const mapping = contactMapping(`
      first_name: First
      attributes.x: { columns: [A, B] }
      attributes.y: { template: '{C} {D}', required: true }`);
    expect(checkHeader(mapping.mapping, ['ID', 'Created', 'B', 'C'])).toEqual({
      missingRequired: ['"D" (for fields.attributes.y)'],
      missingOptional: ['"First" (for fields.first_name)'],
    });
    expect(checkHeader(mapping.mapping, ['First']).missingRequired).toEqual([
      '"ID" (for event.id)',
      '"Created" (for event.time)',
      '"ID" (for fields.contact.crm_id)',
      '"C" (for fields.attributes.y)',
      '"D" (for fields.attributes.y)',
    ]);
  });
});
