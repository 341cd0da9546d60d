// Records that could not be accepted, kept whole with the reason, until someone fixes and replays them.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { IngestChannel, QuarantinedRecord } from '../db/schema.ts';
import { AppError } from '../errors.ts';

export const QUARANTINE_REASONS = [
  'invalid_envelope',
  'unknown_source',
  'invalid_time',
  'invalid_data',
  'invalid_identity',
  'mapping_failed',
  'processing_failed',
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

export async function quarantineRecord(
  db: Db,
  record: {
    batchId: string | null;
    channel: IngestChannel | string;
    source: string | null;
    sourceEventId: string | null;
    recordNumber: number | null;
    code: QuarantineReason;
    reason: string;
    errors: unknown[];
    raw: unknown;
    mappingVersion: string | null;
  },
): Promise<string> {
  const row = await db
    .insertInto('quarantine')
    .values({
      batch_id: record.batchId,
      channel: record.channel,
      source: record.source,
      source_event_id: record.sourceEventId,
      record_number: record.recordNumber,
      reason_code: record.code,
      reason: record.reason,
      errors: JSON.stringify(record.errors),
      raw: JSON.stringify(storable(record.raw === undefined ? null : record.raw)),
      mapping_version: record.mappingVersion,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface QuarantineFilter {
  status?: 'open' | 'replayed' | 'discarded';
  reasonCode?: string;
  source?: string;
  batchId?: string;
  limit: number;
  /** Cursor: received_at|id of the last row seen. */
  after?: string;
}

export async function listQuarantine(db: Db, filter: QuarantineFilter): Promise<QuarantinedRecord[]> {
  let query = db
    .selectFrom('quarantine')
    .selectAll()
    .orderBy('received_at')
    .orderBy('id')
    .limit(filter.limit);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.reasonCode) query = query.where('reason_code', '=', filter.reasonCode);
  if (filter.source) query = query.where('source', '=', filter.source);
  if (filter.batchId) query = query.where('batch_id', '=', filter.batchId);
  if (filter.after) {
    const [time, id] = filter.after.split('|');
    if (!time || !id)
      throw new AppError('validation_failed', 'cursor is not one this API returned', { field: 'cursor' });
    query = query.where(sql<boolean>`(received_at, id) > (${new Date(time)}, ${id}::uuid)`);
  }
  return query.execute();
}

export async function getQuarantined(db: Db, id: string): Promise<QuarantinedRecord> {
  const row = await db.selectFrom('quarantine').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('not_found', `No quarantined record with id ${id}`);
  return row;
}

export async function markQuarantine(
  db: Db,
  id: string,
  status: 'replayed' | 'discarded',
  by: string,
  replayEventId: string | null,
): Promise<void> {
  await db
    .updateTable('quarantine')
    .set({ status, resolved_at: new Date(), resolved_by: by, replay_event_id: replayEventId })
    .where('id', '=', id)
    .execute();
}

/**
 * A copy of a record that PostgreSQL can keep in jsonb: it refuses NUL characters and unpaired UTF-16 surrogates
 * (which a broken client can send escaped in JSON), so they become U+FFFD and the rest stays readable. The
 * record is quarantined either way; refusing to quarantine it would lose it.
 */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\ufffd').toWellFormed();
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [storable(key) as string, storable(v)]),
    );
  return value;
}
