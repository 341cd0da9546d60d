// Reading the outbox: newest first, filtered, with a cursor that survives rows being added meanwhile.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { OutboxTable } from '../db/schema.ts';
import { AppError } from '../errors.ts';

export const OUTBOX_STATUSES = ['pending', 'delivering', 'delivered', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export interface OutboxRow {
  id: string;
  decision_id: string;
  kind: OutboxTable['kind'];
  connector: string;
  idempotency_key: string;
  payload: unknown;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  response: unknown;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface OutboxFilter {
  status?: OutboxStatus;
  connector?: string;
  decisionId?: string;
  kind?: 'action' | 'compensation';
  limit: number;
  cursor?: string;
}

const COLUMNS = [
  'id',
  'decision_id',
  'kind',
  'connector',
  'idempotency_key',
  'payload',
  'status',
  'attempts',
  'next_attempt_at',
  'last_error',
  'response',
  'delivered_at',
  'created_at',
  'updated_at',
] as const;

/** Returns up to `limit` rows and the cursor of the next page. */
export async function listOutbox(
  db: Db,
  filter: OutboxFilter,
): Promise<{ items: OutboxRow[]; next_cursor: string | null }> {
  let query = db
    .selectFrom('outbox')
    .select(COLUMNS)
    // Microseconds, which a JavaScript date would lose: rows written in the same millisecond keep their order.
    .select(sql<string>`(extract(epoch from created_at) * 1000000)::bigint::text`.as('created_us'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.connector) query = query.where('connector', '=', filter.connector);
  if (filter.decisionId) query = query.where('decision_id', '=', filter.decisionId);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.cursor) {
    const match = /^(\d{1,20})_([0-9a-f-]{36})$/.exec(filter.cursor);
    if (!match)
      throw new AppError('validation_failed', 'cursor is not one this API returned', { field: 'cursor' });
    const [, us, id] = match;
    query = query.where(
      sql<boolean>`(created_at, id) < ('epoch'::timestamptz + ${us}::bigint * interval '1 microsecond', ${id}::uuid)`,
    );
  }
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ created_us: _created_us, ...row }) => row as OutboxRow),
    next_cursor: rows.length > filter.limit && last ? `${last.created_us}_${last.id}` : null,
  };
}

export async function getOutboxRow(db: Db, id: string): Promise<OutboxRow> {
  const row = await db.selectFrom('outbox').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('not_found', `No outbox row ${id}`);
  return row as OutboxRow;
}
