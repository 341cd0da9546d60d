// Several ingesters at once (two HTTP clients, a CSV import's parallel chunks, several NATS consumers): known
// identity keys are shared between them, new ones are created once, and nothing is lost or doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { ingestCloudEvents } from '../../src/ingest/ingest-events.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import type { Db } from '../../src/db/database.ts';
import type { Database } from '../../src/db/schema.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { expectNoDanglingEventReferences } from '../helpers/integrity.ts';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  await ensureSource(db, { name: 'crm' });
});
afterAll(async () => database?.drop());

function batch(writer: number, people: number, offset: number) {
  return Array.from({ length: people }, (_, i) => {
    const p = (i + offset) % people;
    return {
      specversion: '1.0',
      id: `w${writer}-${i}`,
      source: 'crm',
      type: i % 7 === 0 ? 'crm.contact.updated' : 'email.opened',
      time: new Date(Date.UTC(2026, 2, 1, 0, writer, i)).toISOString(),
      data:
        i % 7 === 0
          ? {
              contact: { email: `p${p}@acme${p % 3}.com`, crm_id: `C${p}` },
              account: { crm_id: `A${p % 3}` },
              title: `title ${writer}`,
            }
          : { contact: { email: `p${p}@acme${p % 3}.com` } },
    };
  });
}

describe('concurrent ingestion', () => {
  it('creates each new contact and account once, and attributes every event', async () => {
    // Known keys first (shared locks), then batches that also bring new people (exclusive locks), all at once.
    await ingestCloudEvents(db, batch(0, 20, 0), { channel: 'http' });
    const reports = await Promise.all(
      [1, 2, 3, 4].map((w) => ingestCloudEvents(db, batch(w, 60, w * 11), { channel: 'http' })),
    );
    for (const report of reports) expect(report.accepted).toBe(60);
    const twice = await sql<{ email: string; n: string }>`
      select email, count(*) as n from contacts where merged_into_id is null group by email having count(*) > 1`.execute(
      db,
    );
    expect(twice.rows).toEqual([]);
    const contacts = await sql<{
      n: string;
    }>`select count(*) as n from contacts where merged_into_id is null`.execute(db);
    expect(Number(contacts.rows[0]!.n)).toBe(60);
    const accounts = await sql<{ domain: string }>`
      select domain from accounts where merged_into_id is null order by domain`.execute(db);
    expect(accounts.rows.map((r) => r.domain)).toEqual(['acme0.com', 'acme1.com', 'acme2.com']);
    const unattributed = await sql<{ n: string }>`
      select count(*) as n from events where contact_id is null or account_id is null`.execute(db);
    expect(Number(unattributed.rows[0]!.n)).toBe(0);
    // Every contact points at the account of its domain, and every key at one live entity.
    const wrong = await sql<{ id: string }>`
      select c.id from contacts c join accounts a on a.id = c.account_id
      where c.merged_into_id is null and split_part(c.email, '@', 2) <> a.domain`.execute(db);
    expect(wrong.rows).toEqual([]);
    const events = await sql<{ n: string }>`select count(*) as n from events`.execute(db);
    expect(Number(events.rows[0]!.n)).toBe(20 + 4 * 60);
    await expectNoDanglingEventReferences(db);
  });

  it('merges while other ingesters run, and every event ends on the surviving contact', async () => {
    // Two contacts that are one person: one known by email, one by CRM id. Then, all at once: an event carrying
    // both keys (a merge) and activity on each key. The merging chunk retries holding the merge lock alone.
    const at = (minute: number) => new Date(Date.UTC(2026, 3, 1, 0, minute)).toISOString();
    const event = (id: string, minute: number, contact: Record<string, string>) => ({
      specversion: '1.0',
      id,
      source: 'crm',
      type: 'email.opened',
      time: at(minute),
      data: { contact },
    });
    await ingestCloudEvents(db, [event('m-seed-1', 0, { email: 'dana@merge.example' })], { channel: 'http' });
    await ingestCloudEvents(db, [event('m-seed-2', 1, { crm_id: 'DANA' })], { channel: 'http' });
    const activity = (prefix: string, contact: Record<string, string>) =>
      Array.from({ length: 200 }, (_, i) => event(`${prefix}-${i}`, 10 + i, contact));
    const reports = await Promise.all([
      ingestCloudEvents(db, activity('m-email', { email: 'dana@merge.example' }), { channel: 'http' }),
      ingestCloudEvents(
        db,
        [
          event('m-both', 5, { email: 'dana@merge.example', crm_id: 'DANA' }),
          ...activity('m-mixed', { crm_id: 'DANA' }),
        ],
        { channel: 'nats' },
      ),
      ingestCloudEvents(db, activity('m-crm', { crm_id: 'DANA' }), { channel: 'csv' }),
    ]);
    expect(reports.map((r) => r.accepted)).toEqual([200, 201, 200]);
    const live = await sql<{ id: string }>`
      select id from contacts where merged_into_id is null
        and (email = 'dana@merge.example' or id in (select entity_id from identity_keys where key = 'crm:crm:DANA'))`.execute(
      db,
    );
    expect(live.rows).toHaveLength(1);
    const elsewhere = await sql<{ n: string }>`
      select count(*) as n from events where source_event_id like 'm-%' and contact_id is distinct from ${live.rows[0]!.id}`.execute(
      db,
    );
    expect(Number(elsewhere.rows[0]!.n)).toBe(0);
    const merges = await sql<{ n: string }>`
      select count(*) as n from identity_merges where kind = 'contact' and survivor_id = ${live.rows[0]!.id}`.execute(
      db,
    );
    expect(Number(merges.rows[0]!.n)).toBe(1);
    await expectNoDanglingEventReferences(db);
  });

  it('stores the same through a database handle it cannot COPY through (one INSERT per chunk instead)', async () => {
    // A Kysely instance made elsewhere than createDb lends no raw connection: the chunk is written with an
    // INSERT that skips what a concurrent ingester stored first.
    const plain: Db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: database.pool }) });
    const events = batch(8, 120, 0).map((e, i) => ({
      ...e,
      data: { contact: { email: `plain${i % 40}@plain${(i % 40) % 3}.com` } },
    }));
    const [first, second] = await Promise.all([
      ingestCloudEvents(plain, events, { channel: 'http' }),
      ingestCloudEvents(plain, events, { channel: 'http' }),
    ]);
    expect(first.accepted + second.accepted).toBe(120);
    expect(first.duplicate + second.duplicate).toBe(120);
    const again = await ingestCloudEvents(plain, events, { channel: 'http' });
    expect(again.duplicate).toBe(120);
    const stored = await sql<{ n: string; unattributed: string }>`
      select count(*) as n, count(*) filter (where contact_id is null or account_id is null) as unattributed
      from events where source_event_id like 'w8-%'`.execute(db);
    expect(stored.rows[0]).toEqual({ n: '120', unattributed: '0' });
    const people = await sql<{ n: string }>`
      select count(*) as n from contacts where email like 'plain%' and merged_into_id is null`.execute(db);
    expect(Number(people.rows[0]!.n)).toBe(40);
    await expectNoDanglingEventReferences(db);
  });

  it('stores an event sent twice at the same moment once, and reports the other copy as a duplicate', async () => {
    // Both ingesters see the events as new; the second one's bulk write meets the first one's rows and its
    // chunk is retried, which then finds them stored.
    const events = batch(9, 300, 0).map((e, i) => ({
      ...e,
      data: { contact: { email: `twin${i}@twins${i % 4}.com` } },
    }));
    const [first, second] = await Promise.all([
      ingestCloudEvents(db, events, { channel: 'http' }),
      ingestCloudEvents(db, events, { channel: 'nats' }),
    ]);
    expect(first.accepted + second.accepted).toBe(300);
    expect(first.duplicate + second.duplicate).toBe(300);
    for (let i = 0; i < 300; i++) {
      const statuses = [first.results[i]!.status, second.results[i]!.status].sort();
      expect(statuses).toEqual(['accepted', 'duplicate']);
      expect(first.results[i]!.event_id).toBe(second.results[i]!.event_id);
    }
    const stored = await sql<{
      n: string;
    }>`select count(*) as n from events where source_event_id like 'w9-%'`.execute(db);
    expect(Number(stored.rows[0]!.n)).toBe(300);
    const twins = await sql<{ n: string }>`
      select count(*) as n from contacts where email like 'twin%' and merged_into_id is null`.execute(db);
    expect(Number(twins.rows[0]!.n)).toBe(300);
    await expectNoDanglingEventReferences(db);
  });

  it('stores one call in concurrent chunks: first copy of a repeated id wins, counts and order hold', async () => {
    const at = (second: number) => new Date(Date.UTC(2026, 5, 1, 0, 0, second)).toISOString();
    // The first half brings 350 new people (slow: each is created), the second half is activity of people
    // already known (quick), so the second half's chunk would commit first if the two raced for an id.
    const email = (i: number) =>
      i < 350 ? `split${i}@split${i % 4}.com` : `known${i % 90}@split${i % 4}.com`;
    const events: Record<string, unknown>[] = Array.from({ length: 700 }, (_, i) => ({
      specversion: '1.0',
      id: `split-${i}`,
      source: 'crm',
      type: 'email.opened',
      time: at(i),
      data: { contact: { email: email(i) } },
    }));
    await ingestCloudEvents(
      db,
      Array.from({ length: 90 }, (_, k) => ({ ...events[350 + k]!, id: `known-${k}` })),
      { channel: 'http' },
    );
    // Stored before the call: a duplicate. Repeated within the call, first in the first half and again in
    // the second (the two halves are stored at once): the first copy is stored, the second is a duplicate.
    await ingestCloudEvents(db, [events[5]!], { channel: 'http' });
    events[650] = { ...events[340]!, data: { contact: { email: 'known1@split1.com' } } };
    events[300] = { ...events[300]!, time: 'not a time' };
    // Hold the first half back until the second has committed: the first half creates split0@split0.com, and an
    // uncommitted contact with that email makes its insert wait. Had the two halves raced for the repeated id,
    // the second half's copy would now be stored.
    const blocker = await database.pool.connect();
    await blocker.query('begin');
    await blocker.query(`insert into contacts (id, email) values (gen_random_uuid(), 'split0@split0.com')`);
    const call = ingestCloudEvents(db, events, { channel: 'http', concurrency: 2 });
    for (let waited = 0; ; waited += 20) {
      const second = await sql<{ n: string }>`
        select count(*) as n from events
        where source_event_id like 'split-%' and payload #>> '{data,contact,email}' like 'known%'`.execute(
        db,
      );
      if (Number(second.rows[0]!.n) >= 349 || waited > 10_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await blocker.query('rollback');
    blocker.release();
    const report = await call;
    expect(report.results.map((r) => r.index)).toEqual(events.map((_, i) => i));
    expect(report.results[5]!.status).toBe('duplicate');
    expect(report.results[300]).toMatchObject({ status: 'quarantined', reason_code: 'invalid_time' });
    expect(report.results[340]!.status).toBe('accepted');
    expect(report.results[650]).toMatchObject({
      status: 'duplicate',
      event_id: report.results[340]!.event_id,
    });
    expect({
      accepted: report.accepted,
      duplicate: report.duplicate,
      quarantined: report.quarantined,
    }).toEqual({
      accepted: 697,
      duplicate: 2,
      quarantined: 1,
    });
    const batch = await db
      .selectFrom('ingest_batches')
      .select(['accepted', 'duplicate', 'quarantined'])
      .where('id', '=', report.batch_id)
      .executeTakeFirstOrThrow();
    expect(batch).toEqual({ accepted: 697, duplicate: 2, quarantined: 1 });
    const stored = await sql<{ payload: { data: { contact: { email: string } } } }>`
      select payload from events where source = 'crm' and source_event_id = 'split-340'`.execute(db);
    expect(stored.rows.map((r) => r.payload.data.contact.email)).toEqual(['split340@split0.com']);
    const people = await sql<{ n: string }>`
      select count(*) as n from contacts where email like 'split%' and merged_into_id is null`.execute(db);
    expect(Number(people.rows[0]!.n)).toBe(349);
    const accounts = await sql<{ n: string }>`
      select count(*) as n from accounts where domain like 'split%' and merged_into_id is null`.execute(db);
    expect(Number(accounts.rows[0]!.n)).toBe(4);
    await expectNoDanglingEventReferences(db);
  });
});
