// Replaying a dead letter: a person sends it back to the queue with a reason (audited). Attempts start again
// from zero; the decision goes failed -> executing when the delivery is claimed, and the same checks apply as
// the first time (a decision that is not approved is refused again).
import { sql } from 'kysely';
import type { Actor } from '../agents/decision-store.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { getOutboxRow, type OutboxRow } from './list-outbox.ts';
import { wakeDelivery } from './outbox.ts';

export async function replayDelivery(
  db: Db,
  options: { outboxId: string; actor: Actor; reason: string },
): Promise<OutboxRow> {
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('outbox')
      .select(['id', 'status', 'attempts', 'last_error', 'decision_id', 'kind', 'connector'])
      .where('id', '=', options.outboxId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `No outbox row ${options.outboxId}`);
    if (row.status !== 'dead') {
      throw new AppError(
        'conflict',
        `Outbox row ${row.id} is ${row.status}; only a dead letter (status dead) can be replayed`,
        { status: row.status },
      );
    }
    await trx
      .updateTable('outbox')
      .set({ status: 'pending', attempts: 0, next_attempt_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', row.id)
      .execute();
    await appendAudit(trx, {
      actor: options.actor.name,
      actorId: options.actor.id ?? null,
      action: 'outbox.replay',
      subjectType: 'outbox',
      subjectId: row.id,
      reason: options.reason,
      before: { status: 'dead', attempts: row.attempts, last_error: row.last_error },
      after: {
        status: 'pending',
        attempts: 0,
        decision_id: row.decision_id,
        kind: row.kind,
        connector: row.connector,
      },
    });
    await wakeDelivery(trx);
  });
  return getOutboxRow(db, options.outboxId);
}
