// The event store is append-only in the database itself, whatever the application code does: facts cannot be
// changed or removed; only the resolved contact, account and opportunity may be re-attributed.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

async function insertEvent(sourceEventId: string): Promise<string> {
  const result = await sql<{ id: string }>`
    insert into events (source, source_event_id, type, type_known, occurred_at, payload)
    values ('crm', ${sourceEventId}, 'contact.created', true, '2024-03-01T10:00:00Z',
            ${JSON.stringify({ email: 'ann@acme.example' })}::jsonb)
    returning id
  `.execute(database.db);
  return result.rows[0]!.id;
}

async function eventRow(id: string) {
  const result = await sql<{ contact_id: string | null; payload: unknown; type: string }>`
    select contact_id, payload, type from events where id = ${id}
  `.execute(database.db);
  return result.rows[0];
}

const appendOnly = { code: 'P0001', message: expect.stringContaining('append-only') };

describe('the events table', () => {
  it('refuses to change the facts of an event', async () => {
    const id = await insertEvent('evt-facts');
    await expect(
      sql`update events set payload = '{"email":"eve@evil.example"}'::jsonb where id = ${id}`.execute(
        database.db,
      ),
    ).rejects.toMatchObject(appendOnly);
    await expect(
      sql`update events set type = 'contact.deleted' where id = ${id}`.execute(database.db),
    ).rejects.toMatchObject(appendOnly);
    await expect(
      sql`update events set occurred_at = now() where id = ${id}`.execute(database.db),
    ).rejects.toMatchObject(appendOnly);
    expect(await eventRow(id)).toEqual({
      contact_id: null,
      payload: { email: 'ann@acme.example' },
      type: 'contact.created',
    });
  });

  it('refuses DELETE and TRUNCATE', async () => {
    const id = await insertEvent('evt-delete');
    await expect(sql`delete from events where id = ${id}`.execute(database.db)).rejects.toMatchObject(
      appendOnly,
    );
    // Outcomes reference events, so a plain TRUNCATE is refused before the trigger runs; with CASCADE it reaches
    // the trigger, which must refuse it.
    await expect(sql`truncate events`.execute(database.db)).rejects.toThrow();
    await expect(sql`truncate events cascade`.execute(database.db)).rejects.toMatchObject(appendOnly);
    expect(await eventRow(id)).toBeDefined();
  });

  it('lets identity resolution re-attribute an event to a contact and back', async () => {
    const id = await insertEvent('evt-attribution');
    const contact = await database.db
      .insertInto('contacts')
      .values({ email: 'ann@acme.example', first_name: 'Ann' })
      .returning('id')
      .executeTakeFirstOrThrow();

    await sql`update events set contact_id = ${contact.id} where id = ${id}`.execute(database.db);
    expect((await eventRow(id))?.contact_id).toBe(contact.id);

    await sql`update events set contact_id = null where id = ${id}`.execute(database.db);
    expect((await eventRow(id))?.contact_id).toBeNull();
  });

  it('accepts an event once per (source, source_event_id)', async () => {
    await insertEvent('evt-once');
    await expect(insertEvent('evt-once')).rejects.toMatchObject({
      code: '23505',
      constraint: 'events_source_event_key',
    });
    const count = await sql<{ n: string }>`
      select count(*) as n from events where source = 'crm' and source_event_id = 'evt-once'
    `.execute(database.db);
    expect(count.rows[0]!.n).toBe('1');
  });
});
