// The stored graph features of one account, contact or opportunity (as last computed by graph.features).
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { FeatureEntity } from './graph-feature-math.ts';

export interface StoredGraphFeatures {
  entity_type: FeatureEntity;
  entity_id: string;
  /** The id asked for; differs from entity_id when it was merged into another entity. */
  requested_id: string;
  version: string | null;
  as_of: Date | null;
  computed_at: Date | null;
  features: Record<string, number>;
}

export async function getGraphFeatures(
  db: Db,
  type: FeatureEntity,
  id: string,
): Promise<StoredGraphFeatures> {
  const entityId = await liveEntityId(db, type, id);
  const rows = await db
    .selectFrom('graph_features')
    .select(['name', 'value', 'version', 'as_of', 'computed_at'])
    .where('entity_type', '=', type)
    .where('entity_id', '=', entityId)
    .orderBy('name')
    .execute();
  const first = rows[0];
  return {
    entity_type: type,
    entity_id: entityId,
    requested_id: id,
    version: first?.version ?? null,
    as_of: first?.as_of ?? null,
    computed_at: first?.computed_at ?? null,
    features: Object.fromEntries(rows.map((row) => [row.name, row.value])),
  };
}

/** A merged account or contact is followed to its survivor. */
async function liveEntityId(db: Db, type: FeatureEntity, id: string): Promise<string> {
  if (type === 'opportunity') {
    const row = await db.selectFrom('opportunities').select('id').where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `No opportunity with id ${id}`);
    return row.id;
  }
  const row = await db
    .selectFrom(type === 'account' ? 'accounts' : 'contacts')
    .select(['id', 'merged_into_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', `No ${type} with id ${id}`);
  return row.merged_into_id ?? row.id;
}
