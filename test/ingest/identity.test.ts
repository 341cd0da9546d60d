// Identity resolution: keys, free-mail, late identities, merges and unmerges, and order independence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmerge } from '../../src/ingest/identity.ts';
import { ingestCloudEvents } from '../../src/ingest/ingest-events.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { expectNoDanglingEventReferences } from '../helpers/integrity.ts';

let database: TestDatabase;
let db: Db;
let n = 0;

function event(type: string, data: unknown, time = '2026-03-01T10:00:00Z', id?: string) {
  n += 1;
  return { specversion: '1.0', id: id ?? `id-${n}`, source: 'crm', type, time, data };
}

async function ingest(events: unknown[], target: Db = db) {
  const report = await ingestCloudEvents(target, events, { channel: 'http' });
  expect(report.quarantined, JSON.stringify(report.results.filter((r) => r.status === 'quarantined'))).toBe(
    0,
  );
  return report;
}

async function contactByEmail(email: string, target: Db = db) {
  return target
    .selectFrom('contacts')
    .selectAll()
    .where('email', '=', email)
    .where('merged_into_id', 'is', null)
    .executeTakeFirst();
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  await ensureSource(db, { name: 'crm' });
});
afterAll(async () => {
  // Merges, unmerges and late identities move events between entities; none may point at nothing.
  if (database) await expectNoDanglingEventReferences(database.db);
  await database?.drop();
});

describe('contacts and accounts', () => {
  it('attaches work emails to the company account and never makes an account of a free-mail domain', async () => {
    await ingest([
      event('email.opened', { contact: { email: 'dana@stark.io' } }),
      event('email.opened', { contact: { email: 'eve@stark.io' } }),
      event('email.opened', { contact: { email: 'frank@gmail.com' } }),
    ]);
    const dana = await contactByEmail('dana@stark.io');
    const eve = await contactByEmail('eve@stark.io');
    const frank = await contactByEmail('frank@gmail.com');
    expect(dana!.account_id).toBe(eve!.account_id);
    expect(frank!.account_id).toBeNull();
    const gmail = await db.selectFrom('accounts').select('id').where('domain', '=', 'gmail.com').execute();
    expect(gmail).toHaveLength(0);
  });

  it('attaches a free-mail contact to its account through the CRM account id', async () => {
    await ingest([
      event('crm.account.created', {
        account: { crm_id: 'A-9', domain: 'https://www.wayne-ent.com/about', name: 'Wayne' },
        employees: 5000,
      }),
      event('crm.contact.created', {
        contact: { crm_id: 'C-9', email: 'bruce@gmail.com', phone: '+1 (415) 555-0100' },
        account: { crm_id: 'A-9' },
        title: 'CEO',
        seniority: 'C_Level',
      }),
    ]);
    const bruce = await contactByEmail('bruce@gmail.com');
    const account = await db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', bruce!.account_id!)
      .executeTakeFirstOrThrow();
    expect(account).toMatchObject({
      domain: 'wayne-ent.com',
      name: 'Wayne',
      employees: 5000,
      size_band: 'enterprise',
    });
    expect(bruce).toMatchObject({ phone: '+14155550100', title: 'CEO', seniority: 'c_level' });
  });

  it('re-attributes anonymous web visits once the visitor identifies', async () => {
    const visits = await ingest([
      event(
        'web.page_viewed',
        { contact: { anonymous_id: 'cookie-1' }, url: 'https://acme.dev/pricing' },
        '2026-03-01T09:00:00Z',
      ),
      event(
        'web.page_viewed',
        { contact: { anonymous_id: 'cookie-1' }, url: 'https://acme.dev/demo' },
        '2026-03-01T09:05:00Z',
      ),
    ]);
    const before = await db
      .selectFrom('events')
      .select('contact_id')
      .where(
        'id',
        'in',
        visits.results.map((r) => r.event_id!),
      )
      .execute();
    expect(before.every((e) => e.contact_id === null)).toBe(true);
    await ingest([
      event(
        'web.form_submitted',
        { contact: { anonymous_id: 'cookie-1', email: 'gina@acme.dev' }, url: '/demo', form: 'demo' },
        '2026-03-01T09:10:00Z',
      ),
    ]);
    const gina = await contactByEmail('gina@acme.dev');
    const after = await db
      .selectFrom('events')
      .select(['contact_id', 'account_id'])
      .where(
        'id',
        'in',
        visits.results.map((r) => r.event_id!),
      )
      .execute();
    expect(after.every((e) => e.contact_id === gina!.id)).toBe(true);
  });
});

describe('merges', () => {
  it('merges two contacts that turn out to be one person, and can undo it', async () => {
    // The same person known by a web form (email) and by the CRM (id + phone), then a CRM update links them.
    await ingest([
      event(
        'web.form_submitted',
        { contact: { email: 'hank@oscorp.com' }, url: '/contact', form: 'contact' },
        '2026-03-02T08:00:00Z',
      ),
      event(
        'crm.contact.created',
        { contact: { crm_id: 'C-100', phone: '+44 20 7946 0958' }, first_name: 'Hank' },
        '2026-03-02T09:00:00Z',
      ),
      event('email.opened', { contact: { crm_id: 'C-100' } }, '2026-03-02T09:30:00Z'),
    ]);
    const byEmail = await contactByEmail('hank@oscorp.com');
    const byCrm = await db
      .selectFrom('identity_keys')
      .select('entity_id')
      .where('key', '=', 'crm:crm:C-100')
      .executeTakeFirstOrThrow();
    expect(byEmail!.id).not.toBe(byCrm.entity_id);

    await ingest([
      event(
        'crm.contact.updated',
        { contact: { crm_id: 'C-100', email: 'hank@oscorp.com' }, last_name: 'Pym' },
        '2026-03-03T09:00:00Z',
      ),
    ]);
    const merge = await db
      .selectFrom('identity_merges')
      .selectAll()
      .where('kind', '=', 'contact')
      .orderBy('merged_at', 'desc')
      .executeTakeFirstOrThrow();
    const survivorId = merge.survivor_id;
    const survivor = await db
      .selectFrom('contacts')
      .selectAll()
      .where('id', '=', survivorId)
      .executeTakeFirstOrThrow();
    expect(survivor).toMatchObject({
      email: 'hank@oscorp.com',
      phone: '+442079460958',
      first_name: 'Hank',
      last_name: 'Pym',
    });
    const mergedRow = await db
      .selectFrom('contacts')
      .selectAll()
      .where('id', '=', merge.merged_id)
      .executeTakeFirstOrThrow();
    expect(mergedRow.merged_into_id).toBe(survivorId);
    expect((merge.evidence as any).source_event_id).toBeDefined();
    const events = await db
      .selectFrom('events')
      .select(['contact_id'])
      .where(sql<boolean>`contact_keys && ${['crm:crm:C-100', 'email:hank@oscorp.com']}::text[]`)
      .execute();
    expect(events.every((e) => e.contact_id === survivorId)).toBe(true);

    await unmerge(db, merge.id, 'tester', 'two different people');
    const keysBack = await db
      .selectFrom('identity_keys')
      .select(['key', 'entity_id'])
      .where('kind', '=', 'contact')
      .where('entity_id', '=', merge.merged_id)
      .execute();
    expect(keysBack.map((k) => k.key).sort()).toEqual(merge.moved_keys.sort());
    const restored = await db
      .selectFrom('contacts')
      .select('merged_into_id')
      .where('id', '=', merge.merged_id)
      .executeTakeFirstOrThrow();
    expect(restored.merged_into_id).toBeNull();
    // Events that carried only the merged entity's keys went back to it.
    const onlyMergedKeys = await db
      .selectFrom('events')
      .select(['contact_id', 'contact_keys'])
      .where(sql<boolean>`contact_keys && ${merge.moved_keys}::text[]`)
      .execute();
    for (const e of onlyMergedKeys) {
      const carriesSurvivorKey = e.contact_keys.some((k) => !merge.moved_keys.includes(k));
      expect(e.contact_id).toBe(carriesSurvivorKey ? survivorId : merge.merged_id);
    }
    await expect(unmerge(db, merge.id, 'tester', 'again')).rejects.toThrow(/already undone/);
  });
});

describe('keys remembered between transactions', () => {
  // The ingesting process remembers what keys pointed at in committed transactions; a merge or an unmerge in
  // between must make it read them again, or events would land on the entity a key used to point at.
  it('follows a merge and an unmerge that moved a key it remembered', async () => {
    const onKey = async (key: string) => {
      const report = await ingest([event('email.opened', { contact: { crm_id: key } })]);
      const row = await db
        .selectFrom('events')
        .select('contact_id')
        .where('id', '=', report.results[0]!.event_id!)
        .executeTakeFirstOrThrow();
      return row.contact_id;
    };
    await ingest([
      event('email.opened', { contact: { email: 'wanda@westview.io' } }, '2026-04-01T09:00:00Z'),
    ]);
    const wanda = (await contactByEmail('wanda@westview.io'))!.id;
    const other = await onKey('C-WV');
    expect(other).not.toBe(wanda);
    expect(await onKey('C-WV')).toBe(other); // remembered now
    await ingest([
      event(
        'crm.contact.updated',
        { contact: { crm_id: 'C-WV', email: 'wanda@westview.io' } },
        '2026-04-02T09:00:00Z',
      ),
    ]);
    const merge = await db
      .selectFrom('identity_merges')
      .selectAll()
      .where('merged_id', '=', other!)
      .executeTakeFirstOrThrow();
    expect(merge.survivor_id).toBe(wanda);
    expect(await onKey('C-WV')).toBe(wanda);
    await unmerge(db, merge.id, 'tester', 'not the same person');
    expect(await onKey('C-WV')).toBe(other);
  });
});

describe('order independence', () => {
  const story = () => {
    const e = (i: number, type: string, data: unknown, day: number) => ({
      specversion: '1.0',
      id: `story-${i}`,
      source: 'crm',
      type,
      time: `2026-05-${String(day).padStart(2, '0')}T10:00:00Z`,
      data,
    });
    return [
      e(
        1,
        'crm.account.created',
        {
          account: { crm_id: 'ACC-1', domain: 'umbrella.co', name: 'Umbrella' },
          industry: 'Pharma',
          employees: 300,
        },
        1,
      ),
      e(
        2,
        'crm.contact.created',
        {
          contact: { crm_id: 'P-1', email: 'alice@umbrella.co' },
          account: { crm_id: 'ACC-1' },
          first_name: 'Alice',
          lifecycle_stage: 'lead',
        },
        2,
      ),
      e(3, 'web.page_viewed', { contact: { anonymous_id: 'v-77' }, url: 'https://umbrella.co/pricing' }, 3),
      e(
        4,
        'web.form_submitted',
        { contact: { anonymous_id: 'v-77', email: 'bob@umbrella.co' }, url: '/demo', form: 'demo' },
        4,
      ),
      e(
        5,
        'crm.contact.stage_changed',
        { contact: { crm_id: 'P-1' }, from_stage: 'lead', to_stage: 'mql' },
        5,
      ),
      e(6, 'crm.contact.updated', { contact: { crm_id: 'P-1' }, title: 'VP Research' }, 6),
      e(
        7,
        'crm.contact.stage_changed',
        { contact: { crm_id: 'P-1' }, from_stage: 'mql', to_stage: 'sql' },
        7,
      ),
      e(
        8,
        'crm.opportunity.created',
        {
          opportunity: { crm_id: 'O-1' },
          account: { crm_id: 'ACC-1' },
          name: 'Umbrella pilot',
          stage: 'discovery',
          amount: 12000,
        },
        8,
      ),
      e(
        9,
        'crm.opportunity.stage_changed',
        { opportunity: { crm_id: 'O-1' }, from_stage: 'discovery', to_stage: 'proposal' },
        9,
      ),
      e(
        10,
        'crm.contact.created',
        { contact: { crm_id: 'P-2', email: 'bob@umbrella.co' }, first_name: 'Bob' },
        10,
      ),
      e(11, 'crm.account.updated', { account: { crm_id: 'ACC-1' }, employees: 450 }, 11),
      e(
        12,
        'crm.opportunity.stage_changed',
        { opportunity: { crm_id: 'O-1' }, from_stage: 'proposal', to_stage: 'closed_won' },
        12,
      ),
      e(13, 'crm.contact.updated', { contact: { crm_id: 'P-1' }, title: 'SVP Research' }, 13),
      e(14, 'email.replied', { contact: { email: 'alice@umbrella.co' } }, 14),
    ];
  };

  async function finalState(target: Db) {
    const contacts = await target
      .selectFrom('contacts')
      .select(['email', 'first_name', 'title', 'lifecycle_stage'])
      .where('merged_into_id', 'is', null)
      .where('email', 'like', '%@umbrella.co')
      .orderBy('email')
      .execute();
    const accounts = await target
      .selectFrom('accounts')
      .select(['domain', 'name', 'industry', 'employees'])
      .where('domain', '=', 'umbrella.co')
      .where('merged_into_id', 'is', null)
      .execute();
    const opportunities = await target
      .selectFrom('opportunities')
      .select(['name', 'stage', 'status', 'amount'])
      .where('name', '=', 'Umbrella pilot')
      .execute();
    const attribution = await target
      .selectFrom('events as e')
      .leftJoin('contacts as c', 'c.id', 'e.contact_id')
      .leftJoin('accounts as a', 'a.id', 'e.account_id')
      .select(['e.source_event_id', 'c.email', 'a.domain'])
      .where('e.source_event_id', 'like', 'story-%')
      .orderBy('e.source_event_id')
      .execute();
    return { contacts, accounts, opportunities, attribution };
  }

  it('ends in the same state whatever the arrival order, and a replay changes nothing', async () => {
    const inOrder = await createTestDatabase();
    const shuffled = await createTestDatabase();
    try {
      for (const target of [inOrder.db, shuffled.db]) await ensureSource(target, { name: 'crm' });
      await ingest(story(), inOrder.db);
      // A deterministic shuffle, delivered one event at a time, as a stream would.
      const events = story();
      let seed = 7;
      for (let i = events.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const j = seed % (i + 1);
        [events[i], events[j]] = [events[j]!, events[i]!];
      }
      for (const e of events) await ingest([e], shuffled.db);
      const expected = await finalState(inOrder.db);
      expect(expected.contacts.map((c) => c.title)).toContain('SVP Research');
      expect(expected.opportunities[0]).toMatchObject({ stage: 'closed_won', status: 'won' });
      expect(await finalState(shuffled.db)).toEqual(expected);

      const replay = await ingestCloudEvents(shuffled.db, story(), { channel: 'replay' });
      expect(replay.duplicate).toBe(story().length);
      expect(await finalState(shuffled.db)).toEqual(expected);
    } finally {
      await inOrder.drop();
      await shuffled.drop();
    }
  });
});
