// The tamper-evident audit trail. Appends are serialised (one chain), each entry's hash covers its content and
// the previous hash; `verifyAuditChain` recomputes every hash and names the first entry that does not match.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  actor: string;
  actorId?: string | null;
  action: string;
  subjectType: string;
  subjectId?: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

interface HashedFields {
  at: string;
  actor: string;
  actor_id: string | null;
  action: string;
  subject_type: string;
  subject_id: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
}

/** JSON with sorted keys, so the same content always hashes the same, whatever order jsonb returns. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function entryHash(prevHash: string, fields: HashedFields): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');
}

/** Values as jsonb gives them back (numbers, strings, objects), so the hash can be recomputed from the row. */
function normalise(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** Appends in the caller's transaction: the entry exists exactly when the change it records does. */
export async function appendAudit(trx: Db, entry: AuditEntry): Promise<{ id: string; hash: string }> {
  await sql`select pg_advisory_xact_lock(hashtext('funnelgate:audit-chain'))`.execute(trx);
  const last = await trx
    .selectFrom('audit_log')
    .select('hash')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const prevHash = last?.hash ?? GENESIS_HASH;
  // Millisecond precision, as JavaScript dates have it; the row stores exactly this instant.
  const at = new Date();
  const fields: HashedFields = {
    at: at.toISOString(),
    actor: entry.actor,
    actor_id: entry.actorId ?? null,
    action: entry.action,
    subject_type: entry.subjectType,
    subject_id: entry.subjectId ?? null,
    reason: entry.reason ?? null,
    before: normalise(entry.before),
    after: normalise(entry.after),
  };
  const hash = entryHash(prevHash, fields);
  const row = await trx
    .insertInto('audit_log')
    .values({
      at,
      actor: fields.actor,
      actor_id: fields.actor_id,
      action: fields.action,
      subject_type: fields.subject_type,
      subject_id: fields.subject_id,
      reason: fields.reason,
      before: fields.before === null ? null : JSON.stringify(fields.before),
      after: fields.after === null ? null : JSON.stringify(fields.after),
      prev_hash: prevHash,
      hash,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, hash };
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  first_broken?: { id: string; reason: string };
}

/** Recomputes the chain in id order, streaming in pages. */
export async function verifyAuditChain(db: Db, pageSize = 5000): Promise<VerifyResult> {
  let prevHash = GENESIS_HASH;
  let after = '0';
  let checked = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (row.prev_hash !== prevHash) {
        return {
          ok: false,
          checked,
          first_broken: {
            id: row.id,
            reason:
              'its prev_hash is not the hash of the entry before it (an entry was removed or reordered)',
          },
        };
      }
      const expected = entryHash(prevHash, {
        at: row.at.toISOString(),
        actor: row.actor,
        actor_id: row.actor_id,
        action: row.action,
        subject_type: row.subject_type,
        subject_id: row.subject_id,
        reason: row.reason,
        before: row.before ?? null,
        after: row.after ?? null,
      });
      if (expected !== row.hash) {
        return {
          ok: false,
          checked,
          first_broken: { id: row.id, reason: 'its content does not match its hash (the entry was changed)' },
        };
      }
      prevHash = row.hash;
      after = row.id;
      checked++;
    }
    if (rows.length < pageSize) return { ok: true, checked };
  }
}

export interface AuditFilter {
  action?: string;
  subjectType?: string;
  subjectId?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** id of the last entry of the previous page (newest first) */
  before?: string;
}

export async function listAudit(db: Db, filter: AuditFilter) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.action) query = query.where('action', '=', filter.action);
  if (filter.subjectType) query = query.where('subject_type', '=', filter.subjectType);
  if (filter.subjectId) query = query.where('subject_id', '=', filter.subjectId);
  if (filter.actor) query = query.where('actor', '=', filter.actor);
  if (filter.from) query = query.where('at', '>=', filter.from);
  if (filter.to) query = query.where('at', '<', filter.to);
  if (filter.before) {
    if (!/^\d+$/.test(filter.before))
      throw new AppError('validation_failed', 'cursor is not one this API returned', { field: 'cursor' });
    query = query.where('id', '<', filter.before);
  }
  return query.execute();
}
