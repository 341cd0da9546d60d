// The online store: latest feature values per contact, refreshed seconds after new events (dirty contacts)
// and in full on demand (backfill).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { computeFeatures, type FeatureRow } from './compute.ts';
import { featureSet, type FeatureSet } from './definitions.ts';

export const ONLINE_FEATURE_SET = 'lead_scoring';

export async function materializeContacts(
  db: Db,
  contactIds: string[],
  options: { asOf?: Date; set?: FeatureSet } = {},
): Promise<Map<string, FeatureRow>> {
  const set = options.set ?? featureSet(ONLINE_FEATURE_SET);
  const asOf = options.asOf ?? new Date();
  const values = await computeFeatures(
    db,
    set,
    contactIds.map((contactId) => ({ contactId, asOf })),
    { graph: 'stored' },
  );
  const rows = contactIds.map((id, i) => ({ entity_id: id, values: values[i]! }));
  for (let start = 0; start < rows.length; start += 1000) {
    const chunk = rows.slice(start, start + 1000);
    await sql`
      insert into feature_values (entity_type, entity_id, feature_set, feature_set_version, as_of, values, computed_at)
      select 'contact', x.entity_id, ${set.name}, ${set.version}, ${asOf}, x.values, now()
      from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as x(entity_id uuid, values jsonb)
      on conflict (entity_type, entity_id, feature_set) do update
        set values = excluded.values, as_of = excluded.as_of, feature_set_version = excluded.feature_set_version,
            computed_at = excluded.computed_at
        where feature_values.as_of <= excluded.as_of`.execute(db);
  }
  return new Map(rows.map((r) => [r.entity_id, r.values]));
}

/** Takes up to `limit` contacts whose events changed, oldest first; they are removed in the caller's transaction. */
export async function takeDirtyContacts(
  db: Db,
  limit: number,
): Promise<{ contactId: string; markedAt: Date }[]> {
  const result = await sql<{ contact_id: string; marked_at: Date }>`
    delete from dirty_contacts where contact_id in (
      select contact_id from dirty_contacts order by marked_at limit ${limit} for update skip locked
    ) returning contact_id, marked_at`.execute(db);
  return result.rows.map((r) => ({ contactId: r.contact_id, markedAt: r.marked_at }));
}

/** Every live contact, in pages, for a full backfill. */
export async function* allContactIds(db: Db, pageSize = 2000): AsyncGenerator<string[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db
      .selectFrom('contacts')
      .select('id')
      .where('merged_into_id', 'is', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows.map((r) => r.id);
    after = rows.at(-1)!.id;
  }
}

export async function getOnlineFeatures(db: Db, entityType: string, entityId: string) {
  return db
    .selectFrom('feature_values')
    .selectAll()
    .where('entity_type', '=', entityType)
    .where('entity_id', '=', entityId)
    .execute();
}
