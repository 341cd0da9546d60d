// Reading back what ingestion stored: events, resolved contacts and accounts, batches, lineage.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';

export interface EventFilter {
  contactId?: string;
  accountId?: string;
  type?: string;
  source?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** occurred_at|id of the last event of the previous page */
  cursor?: string;
}

/** Newest first; keyset pagination on (occurred_at, id), so pages stay stable while events arrive. */
export async function listEvents(db: Db, filter: EventFilter) {
  let query = db
    .selectFrom('events')
    .selectAll()
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.contactId) query = query.where('contact_id', '=', await liveContactId(db, filter.contactId));
  if (filter.accountId) query = query.where('account_id', '=', await liveAccountId(db, filter.accountId));
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.source) query = query.where('source', '=', filter.source);
  if (filter.from) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to) query = query.where('occurred_at', '<', filter.to);
  if (filter.cursor) {
    const [time, id] = filter.cursor.split('|');
    const date = time ? new Date(time) : undefined;
    if (!date || Number.isNaN(date.getTime()) || !id || !/^\d+$/.test(id)) {
      throw new AppError('validation_failed', 'cursor is not one this API returned; start again without it', {
        field: 'cursor',
      });
    }
    query = query.where(sql<boolean>`(occurred_at, id) < (${date}, ${id}::bigint)`);
  }
  return query.execute();
}

export function eventCursor(event: { occurred_at: Date; id: string }): string {
  return `${event.occurred_at.toISOString()}|${event.id}`;
}

/** A merged id keeps working: it is followed to the surviving entity. */
async function liveContactId(db: Db, id: string): Promise<string> {
  const row = await db
    .selectFrom('contacts')
    .select(['id', 'merged_into_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.merged_into_id ?? id;
}
async function liveAccountId(db: Db, id: string): Promise<string> {
  const row = await db
    .selectFrom('accounts')
    .select(['id', 'merged_into_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.merged_into_id ?? id;
}

export async function getEvent(db: Db, id: string) {
  const event = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  if (!event) throw new AppError('not_found', `No event with id ${id}`);
  return event;
}

export async function getContactView(db: Db, requestedId: string) {
  const requested = await db
    .selectFrom('contacts')
    .selectAll()
    .where('id', '=', requestedId)
    .executeTakeFirst();
  if (!requested) throw new AppError('not_found', `No contact with id ${requestedId}`);
  const contact = requested.merged_into_id
    ? await db
        .selectFrom('contacts')
        .selectAll()
        .where('id', '=', requested.merged_into_id)
        .executeTakeFirstOrThrow()
    : requested;
  const [keys, mergedIds, account, events] = await Promise.all([
    db
      .selectFrom('identity_keys')
      .select(['key', 'created_at'])
      .where('kind', '=', 'contact')
      .where('entity_id', '=', contact.id)
      .orderBy('key')
      .execute(),
    db.selectFrom('contacts').select('id').where('merged_into_id', '=', contact.id).execute(),
    contact.account_id
      ? db
          .selectFrom('accounts')
          .select(['id', 'name', 'domain'])
          .where('id', '=', contact.account_id)
          .executeTakeFirst()
      : undefined,
    db
      .selectFrom('events')
      .select((eb) => [eb.fn.countAll<string>().as('count'), eb.fn.max('occurred_at').as('last_at')])
      .where('contact_id', '=', contact.id)
      .executeTakeFirstOrThrow(),
  ]);
  return {
    ...contact,
    requested_id: requestedId,
    identity_keys: keys.map((k) => k.key),
    merged_ids: mergedIds.map((m) => m.id),
    account: account ?? null,
    event_count: Number(events.count),
    last_event_at: events.last_at ?? null,
  };
}

export async function getAccountView(db: Db, requestedId: string) {
  const requested = await db
    .selectFrom('accounts')
    .selectAll()
    .where('id', '=', requestedId)
    .executeTakeFirst();
  if (!requested) throw new AppError('not_found', `No account with id ${requestedId}`);
  const account = requested.merged_into_id
    ? await db
        .selectFrom('accounts')
        .selectAll()
        .where('id', '=', requested.merged_into_id)
        .executeTakeFirstOrThrow()
    : requested;
  const [keys, mergedIds, contacts, opportunities] = await Promise.all([
    db
      .selectFrom('identity_keys')
      .select('key')
      .where('kind', '=', 'account')
      .where('entity_id', '=', account.id)
      .orderBy('key')
      .execute(),
    db.selectFrom('accounts').select('id').where('merged_into_id', '=', account.id).execute(),
    db
      .selectFrom('contacts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('account_id', '=', account.id)
      .where('merged_into_id', 'is', null)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('opportunities')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .where('account_id', '=', account.id)
      .groupBy('status')
      .execute(),
  ]);
  return {
    ...account,
    requested_id: requestedId,
    identity_keys: keys.map((k) => k.key),
    merged_ids: mergedIds.map((m) => m.id),
    contact_count: Number(contacts.n),
    opportunities: Object.fromEntries(opportunities.map((o) => [o.status, Number(o.n)])),
  };
}

export async function getBatch(db: Db, id: string) {
  const batch = await db.selectFrom('ingest_batches').selectAll().where('id', '=', id).executeTakeFirst();
  if (!batch) throw new AppError('not_found', `No ingest batch with id ${id}`);
  return batch;
}

export async function getEventLineage(db: Db, id: string) {
  const event = await getEvent(db, id);
  const batch = event.batch_id ? await getBatch(db, event.batch_id) : null;
  const createdBy = batch?.created_by
    ? await db
        .selectFrom('users')
        .select(['id', 'email'])
        .where('id', '=', batch.created_by)
        .executeTakeFirst()
    : undefined;
  const merges = await db
    .selectFrom('identity_merges')
    .select(['id', 'kind', 'survivor_id', 'merged_id', 'merged_at', 'unmerged_at'])
    .where((w) =>
      w.or([
        ...(event.contact_id ? [w('survivor_id', '=', event.contact_id)] : []),
        ...(event.account_id ? [w('survivor_id', '=', event.account_id)] : []),
        w(sql.lit(false), '=', true),
      ]),
    )
    .execute();
  return {
    event_id: event.id,
    source: event.source,
    source_event_id: event.source_event_id,
    type: event.type,
    type_known: event.type_known,
    occurred_at: event.occurred_at,
    received_at: event.received_at,
    mapping_version: event.mapping_version,
    batch: batch
      ? {
          id: batch.id,
          channel: batch.channel,
          source: batch.source,
          started_at: batch.started_at,
          created_by: createdBy?.email ?? null,
          description: batch.description,
        }
      : null,
    attribution: {
      contact_id: event.contact_id,
      account_id: event.account_id,
      opportunity_id: event.opportunity_id,
      contact_keys: event.contact_keys,
      account_keys: event.account_keys,
      merges,
    },
  };
}
