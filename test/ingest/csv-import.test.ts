// CSV import end to end against a real PostgreSQL: the shipped mappings on their fixtures, encodings and
// delimiters, quarantine and replay with a corrected mapping, idempotent re-import, large files, and the CLI.
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCsv, readMappingFile, replayCsvQuarantine } from '../../src/ingest/csv/import-csv.ts';
import { parseMapping } from '../../src/ingest/csv/mapping.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = (name: string) => path.join(root, 'test/fixtures/csv', name);
const shipped = (name: string) => readMappingFile(path.join(root, 'mappings', `${name}.yaml`));

let database: TestDatabase;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(path.join(tmpdir(), 'funnelgate-csv-'));
});
afterAll(async () => {
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

async function importFile(csv: string, mapping: Awaited<ReturnType<typeof readMappingFile>>) {
  return importCsv({ db: database.db, file: csv, mapping });
}

async function accountByKey(key: string) {
  const row = await database.db
    .selectFrom('identity_keys')
    .innerJoin('accounts', 'accounts.id', 'identity_keys.entity_id')
    .selectAll('accounts')
    .where('identity_keys.kind', '=', 'account')
    .where('identity_keys.key', '=', key)
    .executeTakeFirstOrThrow();
  return row;
}

async function entityByKey(kind: 'contact' | 'opportunity', key: string): Promise<Record<string, any>> {
  const { entity_id } = await database.db
    .selectFrom('identity_keys')
    .select('entity_id')
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  const table = kind === 'contact' ? 'contacts' : 'opportunities';
  return database.db.selectFrom(table).selectAll().where('id', '=', entity_id).executeTakeFirstOrThrow();
}

describe('the shipped mappings', () => {
  it('import HubSpot companies, contacts and deals, linked by Record ID and email domain', async () => {
    const companies = await importFile(fixture('hubspot-companies.csv'), await shipped('hubspot-companies'));
    expect(companies).toMatchObject({ rows: 2, events: 2, accepted: 2, duplicate: 0, quarantined: 0 });
    expect(companies.missing_optional_columns).toEqual(['"Website URL" (for fields.account.website)']);
    const contacts = await importFile(fixture('hubspot-contacts.csv'), await shipped('hubspot-contacts'));
    expect(contacts).toMatchObject({ rows: 3, events: 3, accepted: 3, quarantined: 0 });
    const deals = await importFile(fixture('hubspot-deals.csv'), await shipped('hubspot-deals'));
    expect(deals).toMatchObject({ rows: 3, events: 5, accepted: 5, quarantined: 0 });

    const acme = await accountByKey('crm:hubspot:5001');
    expect(acme).toMatchObject({
      name: 'Acme Robotics',
      domain: 'acme-robotics.com',
      employees: 250,
      industry: 'Machinery',
    });
    const globex = await accountByKey('crm:hubspot:5002');
    expect(globex.domain).toBe('globex.fr');

    const ann = await entityByKey('contact', 'crm:hubspot:101');
    expect(ann).toMatchObject({
      email: 'ann.archer@acme-robotics.com',
      first_name: 'Ann',
      lifecycle_stage: 'mql',
      account_id: acme.id,
    });
    const chloe = await entityByKey('contact', 'crm:hubspot:103');
    expect(chloe).toMatchObject({
      first_name: 'Chloé',
      last_name: 'Dupont, Jr.',
      title: 'Head of "Ops"',
      account_id: globex.id,
    });

    const won = await entityByKey('opportunity', 'crm:hubspot:9001');
    expect(won).toMatchObject({
      status: 'won',
      stage: 'Closed Won',
      amount: '48000.00',
      account_id: acme.id,
    });
    const open = await entityByKey('opportunity', 'crm:hubspot:9002');
    expect(open).toMatchObject({ status: 'open', currency: 'EUR', account_id: globex.id });
    const outcomes = await database.db
      .selectFrom('events')
      .select(['source_event_id', 'payload', 'opportunity_id', 'mapping_version', 'batch_id'])
      .where('batch_id', '=', deals.batch_id)
      .where('type', '=', 'outcome.observed')
      .orderBy('source_event_id')
      .execute();
    expect(outcomes.map((o) => [(o.payload as any).data.value, (o.payload as any).data.positive])).toEqual(
      expect.arrayContaining([
        ['Closed Won', true],
        ['Closed Lost', false],
      ]),
    );
    expect(
      outcomes.every((o) => o.opportunity_id !== null && o.mapping_version === deals.mapping_version),
    ).toBe(true);
    const batch = await database.db
      .selectFrom('ingest_batches')
      .selectAll()
      .where('id', '=', deals.batch_id)
      .executeTakeFirstOrThrow();
    expect(batch).toMatchObject({
      channel: 'csv',
      source: 'hubspot',
      mapping_version: deals.mapping_version,
      accepted: 5,
    });
  });

  it('import Salesforce lead and opportunity reports, stopping at the report footer', async () => {
    const leads = await importFile(fixture('salesforce-leads.csv'), await shipped('salesforce-leads'));
    expect(leads).toMatchObject({ rows: 3, events: 6, accepted: 6, quarantined: 0 });
    const dana = await entityByKey('contact', 'crm:salesforce:00Q5g000001AbcD');
    expect(dana).toMatchObject({
      email: 'dana.diaz@initech.com',
      phone: '+14155550199',
      title: 'CTO',
      lifecycle_stage: 'lead',
    });
    expect(dana.attributes).toMatchObject({ annual_revenue: 5000000, employees: 120, lead_source: 'Web' });
    const converted = await database.db
      .selectFrom('events')
      .select('payload')
      .where('batch_id', '=', leads.batch_id)
      .where('type', '=', 'outcome.observed')
      .execute();
    expect(converted.map((e) => (e.payload as any).data.positive).sort()).toEqual([false, false, true]);

    const opportunities = await importFile(
      fixture('salesforce-opportunities.csv'),
      await shipped('salesforce-opportunities'),
    );
    expect(opportunities).toMatchObject({ rows: 3, events: 5, accepted: 5, quarantined: 0 });
    const initech = await entityByKey('opportunity', 'crm:salesforce:0065g00000XyZ1A');
    expect(initech).toMatchObject({ status: 'won', amount: '25000.00' });
    expect(initech.expected_close_date).toEqual(expect.anything());
    expect((await entityByKey('opportunity', 'crm:salesforce:0065g00000XyZ1B')).status).toBe('open');
    expect((await entityByKey('opportunity', 'crm:salesforce:0065g00000XyZ1C')).status).toBe('lost');
    expect((await accountByKey('crm:salesforce:0015g00000AcC1A')).name).toBe('Initech');
  });
});

const peopleMapping = (format = 'YYYY-MM-DD') =>
  parseMapping(
    [
      'name: people',
      'version: 1',
      'source: csv-people',
      'timezone: Europe/Berlin',
      'csv: { delimiter: auto, encoding: latin1 }',
      'event:',
      '  type: crm.contact.updated',
      "  id: { template: 'person-{ID}' }",
      `  time: { column: Created, format: [${format}] }`,
      'fields:',
      '  contact.crm_id: { column: ID, required: true }',
      '  first_name: Name',
      '  attributes.note: Note',
      '  attributes.score: { column: Score, type: number }',
      'outcomes:',
      '  - { column: Bought, name: bought, positive: [ja] }',
    ].join('\n'),
    `people-${format}.yaml`,
  );

describe('reading files', () => {
  it('reads a semicolon-separated latin1 file with quoted fields that span lines', async () => {
    const text = [
      'ID;Name;Note;Score;Created;Bought',
      '1;Zoë;"Erste Zeile',
      'zweite; mit ""Zitat""";3;2024-01-02;ja',
      '2;Jürgen Müller;"";4,5;2024-01-03;nein',
      '',
      '3;Ærø;plain;"7";2024-01-04;',
    ].join('\r\n');
    const csv = file('latin1.csv', iconv.encode(text, 'latin1'));
    const mapping = peopleMapping();
    const wrong = await importFile(csv, mapping);
    // "4,5" is not a number with "." as the decimal separator: that row is quarantined, the others go in
    // (row 1 with its outcome; row 3 has no outcome value, so no outcome event).
    expect(wrong).toMatchObject({ rows: 3, events: 3, accepted: 3, quarantined: 1, rows_failed: 1 });
    const zoe = await entityByKey('contact', 'crm:csv-people:1');
    expect(zoe.first_name).toBe('Zoë');
    expect(zoe.attributes.note).toBe('Erste Zeile\r\nzweite; mit "Zitat"');
    expect((await entityByKey('contact', 'crm:csv-people:3')).first_name).toBe('Ærø');
    const [quarantined] = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('batch_id', '=', wrong.batch_id)
      .execute();
    expect(quarantined).toMatchObject({ record_number: 2, reason_code: 'mapping_failed', channel: 'csv' });
    expect(quarantined!.raw).toMatchObject({ ID: '2', Name: 'Jürgen Müller', Score: '4,5' });
  });

  it('quarantines rows that do not map or cannot be read, with row number and original text, and imports the rest', async () => {
    const csv = file(
      'broken.csv',
      [
        'ID,Name,Note,Score,Created,Bought',
        '10,Ann,,1,2024-02-01,ja',
        '11,Bob,,2,15/03/2024,nein',
        '12,Cy,,3,2024-02-03,ja',
        '13,Di,,lots,2024-02-04,ja',
        '14,Ed,,5,2024-02-05,nein,surplus',
        '15,Flo,,6,2024-02-06,',
      ].join('\n'),
    );
    const mapping = peopleMapping();
    const summary = await importFile(csv, mapping);
    expect(summary).toMatchObject({ rows: 6, rows_failed: 3, accepted: 5, duplicate: 0, quarantined: 3 });
    const records = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('batch_id', '=', summary.batch_id)
      .orderBy('record_number')
      .execute();
    expect(records.map((r) => r.record_number)).toEqual([2, 4, 5]);
    expect(
      records.every(
        (r) =>
          r.mapping_version === mapping.version && r.reason_code === 'mapping_failed' && r.status === 'open',
      ),
    ).toBe(true);
    expect(records[0]!.raw).toEqual({
      ID: '11',
      Name: 'Bob',
      Note: '',
      Score: '2',
      Created: '15/03/2024',
      Bought: 'nein',
    });
    expect(records[0]!.reason).toMatch(
      /^row 2: event\.time \(column "Created"\): "15\/03\/2024" does not match the date format "YYYY-MM-DD"/,
    );
    expect(records[1]!.reason).toMatch(
      /row 4: fields\.attributes\.score \(column "Score"\): "lots" is not a number/,
    );
    expect(records[2]!.reason).toMatch(/row 5 has 7 fields; the header has 6/);
    expect(records[2]!.raw).toMatchObject({ ID: '14', _extra_1: 'surplus' });
    const batch = await database.db
      .selectFrom('ingest_batches')
      .selectAll()
      .where('id', '=', summary.batch_id)
      .executeTakeFirstOrThrow();
    expect(batch).toMatchObject({ accepted: 5, duplicate: 0, quarantined: 3 });

    // The same file again: every event is a duplicate; nothing new is stored.
    const before = await countEvents();
    const again = await importFile(csv, mapping);
    expect(again).toMatchObject({ rows: 6, accepted: 0, duplicate: 5, rows_failed: 3 });
    expect(await countEvents()).toBe(before);

    // A corrected mapping reads the other date format: that row is replayed into an event (and its outcome);
    // the bad number still fails and stays open with the new reason; the unreadable row needs the file fixed.
    const corrected = peopleMapping('YYYY-MM-DD, DD/MM/YYYY');
    const results = await replayCsvQuarantine({
      db: database.db,
      mapping: corrected,
      batchId: summary.batch_id,
      by: 'test',
    });
    expect(results.map((r) => [r.row_number, r.status])).toEqual([
      [2, 'accepted'],
      [4, 'quarantined'],
      [5, 'quarantined'],
    ]);
    expect(results[0]!.outcomes).toEqual(['accepted']);
    const replayed = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('id', '=', records[0]!.id)
      .executeTakeFirstOrThrow();
    expect(replayed).toMatchObject({
      status: 'replayed',
      resolved_by: 'test',
      replay_event_id: results[0]!.event_id,
    });
    const event = await database.db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', results[0]!.event_id!)
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ source: 'csv-people', source_event_id: 'person-11' });
    expect(event.occurred_at.toISOString()).toBe('2024-03-14T23:00:00.000Z');
    const stillOpen = await database.db
      .selectFrom('quarantine')
      .selectAll()
      .where('id', '=', records[1]!.id)
      .executeTakeFirstOrThrow();
    expect(stillOpen).toMatchObject({ status: 'open', mapping_version: corrected.version });
    expect(stillOpen.reason).toMatch(/"lots" is not a number \(replay with people@1#/);
    expect(results[2]!.reason).toMatch(/could not be read as CSV; fix it in the file/);
  });

  it('refuses a file that lacks a column the mapping needs, before writing anything', async () => {
    const csv = file('no-id.csv', 'Name,Created\nAnn,2024-01-01\n');
    const batches = await database.db.selectFrom('ingest_batches').select('id').execute();
    await expect(importFile(csv, peopleMapping())).rejects.toThrow(
      /lacks columns the mapping people@1#\w+ needs: "ID" \(for event\.id\)/,
    );
    expect(await database.db.selectFrom('ingest_batches').select('id').execute()).toHaveLength(
      batches.length,
    );
  });

  it('imports 20,000 rows in one batch', { timeout: 300_000 }, async () => {
    const mapping = parseMapping(
      [
        'name: bulk',
        'version: 1',
        'source: bulk-crm',
        'event: { type: email.opened, id: { column: id }, time: { column: at, format: unix_seconds } }',
        'fields: { contact.email: email, campaign: campaign }',
      ].join('\n'),
    );
    const lines = ['id,email,campaign,at'];
    for (let i = 0; i < 20_000; i++)
      lines.push(
        `open-${i},person${i % 2000}@company${i % 300}.com,spring-${i % 7},${1_700_000_000 + i * 60}`,
      );
    const csv = file('bulk.csv', lines.join('\n'));
    const progress: number[] = [];
    const summary = await importCsv({
      db: database.db,
      file: csv,
      mapping,
      onProgress: (p) => progress.push(p.rows),
    });
    expect(summary).toMatchObject({ rows: 20_000, accepted: 20_000, quarantined: 0 });
    // A report per stored chunk (2,000 events), rows only ever going up, the last one the whole file.
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(20_000);
    const stored = await database.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('batch_id', '=', summary.batch_id)
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(20_000);
  });

  it('streams a large file through parsing and mapping in bounded memory', { timeout: 300_000 }, async () => {
    const rows = 300_000;
    const csv = path.join(dir, 'large.csv');
    const out = createWriteStream(csv);
    out.write('id,email,first,last,company,amount,created,notes\n');
    for (let start = 0; start < rows; start += 10_000) {
      const block: string[] = [];
      for (let i = start; i < start + 10_000; i++) {
        block.push(
          `${i},user${i}@example-${i % 977}.com,First${i},Last${i},Company ${i % 977},${(i * 7.31).toFixed(2)},2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00,"note ${i}, quoted"\n`,
        );
      }
      if (!out.write(block.join(''))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const mappingFile = file(
      'large.yaml',
      [
        'name: large',
        'version: 1',
        'source: large-crm',
        'event: { type: crm.contact.updated, id: hash, time: { column: created, format: YYYY-MM-DD HH:mm } }',
        'fields:',
        '  contact.email: email',
        '  first_name: first',
        '  last_name: last',
        '  account.name: company',
        '  attributes.amount: { column: amount, type: number }',
        '  attributes.notes: notes',
      ].join('\n'),
    );
    // Held in memory, 300,000 parsed rows would need several hundred MB; the child gets an 80 MB heap.
    const script = [
      `const { dryRunCsv, readMappingFile } = await import(${JSON.stringify(path.join(root, 'src/ingest/csv/import-csv.ts'))});`,
      `const s = await dryRunCsv({ file: ${JSON.stringify(csv)}, mapping: await readMappingFile(${JSON.stringify(mappingFile)}) });`,
      'console.log(JSON.stringify({ rows: s.rows, mapped: s.rows_mapped, heap: process.memoryUsage().heapUsed }));',
    ].join('\n');
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        path.join(root, 'node_modules/.bin/node'),
        ['--max-old-space-size=80', '--input-type=module', '-e', script],
        { cwd: root, timeout: 280_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ rows, mapped: rows });
  });
});

async function countEvents(): Promise<number> {
  const row = await database.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('funnelgate import csv / quarantine', () => {
  const node = path.join(root, 'node_modules/.bin/node');
  const bin = path.join(root, 'bin/funnelgate.js');
  function funnelgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        node,
        [bin, ...args],
        { cwd: root, timeout: 60_000, env: { DATABASE_URL: database.url, NO_COLOR: '1' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  }
  async function json(...args: string[]): Promise<any> {
    const result = await funnelgate(...args, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  }

  it('dry-runs, imports, lists, shows, replays and discards', { timeout: 120_000 }, async () => {
    const csv = file(
      'cli.csv',
      [
        'ID,Name,Note,Score,Created,Bought',
        '20,Gus,,1,2024-05-01,ja',
        '21,Hal,,2,05/02/2024,nein',
        '22,Ivy,,x,2024-05-03,ja',
      ].join('\n'),
    );
    const mappingFile = file('cli.yaml', peopleMappingText('YYYY-MM-DD'));
    const eventsBefore = await countEvents();
    const dry = await json('import', 'csv', csv, '--mapping', mappingFile, '--dry-run');
    expect(dry).toMatchObject({ rows: 3, rows_mapped: 1, rows_failed: 2, events: 2, delimiter: ',' });
    expect(dry.first_errors.map((e: any) => e.row)).toEqual([2, 3]);
    // The sample is every event of the first row that maps (its event and its outcome event), and only those.
    expect(dry.sample).toHaveLength(2);
    expect(dry.sample.map((e: any) => e.csvrow)).toEqual([1, 1]);
    expect(await countEvents()).toBe(eventsBefore);

    const imported = await json('import', 'csv', csv, '--mapping', mappingFile);
    expect(imported).toMatchObject({ rows: 3, accepted: 2, quarantined: 2 });
    const human = await funnelgate('import', 'csv', csv, '--mapping', mappingFile);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/duplicate +2/);
    expect(human.stdout).toMatch(/funnelgate quarantine list --batch /);

    const listed = await json('quarantine', 'list', '--batch', imported.batch_id);
    expect(listed.map((r: any) => r.record_number)).toEqual([2, 3]);
    const shown = await funnelgate('quarantine', 'show', listed[0].id);
    expect(shown.stdout).toMatch(/original record:[\s\S]*"Created": "05\/02\/2024"/);

    const notWithoutMapping = await json('quarantine', 'replay', listed[0].id);
    expect(notWithoutMapping.results[0]).toMatchObject({
      status: 'quarantined',
      reason: expect.stringMatching(/--mapping/),
    });
    const fixedFile = file('cli-fixed.yaml', peopleMappingText('YYYY-MM-DD, MM/DD/YYYY'));
    const replayed = await json('quarantine', 'replay', '--batch', imported.batch_id, '--mapping', fixedFile);
    expect(replayed).toMatchObject({ accepted: 1, quarantined: 1 });

    const discarded = await json(
      'quarantine',
      'discard',
      listed[1].id,
      '--reason',
      'score was never recorded',
    );
    expect(discarded).toMatchObject({ status: 'discarded' });
    expect(await json('quarantine', 'list', '--batch', imported.batch_id)).toEqual([]);

    const missing = await funnelgate('import', 'csv', path.join(dir, 'nope.csv'), '--mapping', mappingFile);
    expect(missing.code).toBe(5);
    const badMapping = await funnelgate(
      'import',
      'csv',
      csv,
      '--mapping',
      file('bad.yaml', 'name: x\nversion: 1\nsource: s\nevnt: {}'),
    );
    expect(badMapping.code).toBe(2);
    expect(badMapping.stderr).toMatch(/unknown key "evnt"/);
    const shippedByName = await json(
      'import',
      'csv',
      fixture('hubspot-companies.csv'),
      '--mapping',
      'hubspot-companies',
      '--dry-run',
    );
    expect(shippedByName).toMatchObject({ rows: 2, rows_failed: 0 });
  });
});

function peopleMappingText(formats: string): string {
  return [
    'name: people-cli',
    'version: 1',
    'source: csv-people-cli',
    'event:',
    '  type: crm.contact.updated',
    "  id: { template: 'person-{ID}' }",
    `  time: { column: Created, format: [${formats}] }`,
    'fields:',
    '  contact.crm_id: ID',
    '  first_name: Name',
    '  attributes.score: { column: Score, type: number }',
    'outcomes:',
    '  - { column: Bought, name: bought, positive: [ja] }',
  ].join('\n');
}
