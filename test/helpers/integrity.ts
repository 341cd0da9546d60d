// Checks the event store's references, which are not foreign keys (migration 0009 says why): every event's
// contact, account, opportunity and batch exists.
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Db } from '../../src/db/database.ts';

export async function expectNoDanglingEventReferences(db: Db): Promise<void> {
  const dangling = await sql<{ id: string; column: string }>`
    select e.id, 'contact_id' as column from events e
      where e.contact_id is not null and not exists (select 1 from contacts c where c.id = e.contact_id)
    union all
    select e.id, 'account_id' from events e
      where e.account_id is not null and not exists (select 1 from accounts a where a.id = e.account_id)
    union all
    select e.id, 'opportunity_id' from events e
      where e.opportunity_id is not null and not exists (select 1 from opportunities o where o.id = e.opportunity_id)
    union all
    select e.id, 'batch_id' from events e
      where e.batch_id is not null and not exists (select 1 from ingest_batches b where b.id = e.batch_id)`.execute(
    db,
  );
  expect(dangling.rows).toEqual([]);
}
