// The outside world's names for the people an action mentions: a contact's CRM ids (its identity keys
// `crm:<source>:<id>`, on the surviving contact if it was merged) and email, and an owner's email. Read just
// before each attempt, outside any transaction.
import type { Action } from '../agents/actions.ts';
import type { Db } from '../db/database.ts';
import type { DeliveryRefs, PartyRef } from './connectors/connector.ts';

export async function resolveRefs(db: Db, action: Action): Promise<DeliveryRefs> {
  const p = action.params;
  const refs: DeliveryRefs = {};
  const contact = typeof p['contact_id'] === 'string' ? await contactRef(db, p['contact_id']) : undefined;
  if (contact) refs.contact = contact;
  const owner = typeof p['owner_id'] === 'string' ? await userRef(db, p['owner_id']) : undefined;
  if (owner) refs.owner = owner;
  const previous =
    typeof p['previous_owner_id'] === 'string' ? await userRef(db, p['previous_owner_id']) : undefined;
  if (previous) refs.previousOwner = previous;
  return refs;
}

async function contactRef(db: Db, id: string): Promise<PartyRef | undefined> {
  let current = id;
  // Merges move identity keys to the survivor; follow the chain (bounded, in case of a cycle).
  for (let hop = 0; hop < 10; hop++) {
    const row = await db
      .selectFrom('contacts')
      .select(['id', 'email', 'merged_into_id'])
      .where('id', '=', current)
      .executeTakeFirst();
    if (!row) return undefined;
    if (!row.merged_into_id) {
      const keys = await db
        .selectFrom('identity_keys')
        .select('key')
        .where('kind', '=', 'contact')
        .where('entity_id', '=', row.id)
        .where('key', 'like', 'crm:%')
        .orderBy('created_at')
        .orderBy('key')
        .execute();
      const crmIds: Record<string, string> = {};
      for (const { key } of keys) {
        const [, source, ...rest] = key.split(':');
        // The oldest id per source wins: it is the record the CRM has known longest.
        if (source && rest.length > 0 && !(source in crmIds)) crmIds[source] = rest.join(':');
      }
      return { id, email: row.email, crmIds };
    }
    current = row.merged_into_id;
  }
  return undefined;
}

async function userRef(db: Db, id: string): Promise<PartyRef | undefined> {
  const row = await db.selectFrom('users').select(['id', 'email']).where('id', '=', id).executeTakeFirst();
  // Users have no CRM ids yet (see the connectors for what is sent instead).
  return row ? { id: row.id, email: row.email, crmIds: {} } : undefined;
}
