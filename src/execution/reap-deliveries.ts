// Deliveries whose lease ran out while 'delivering': the worker died, or lost the database, mid-request. Each
// goes back to the queue as a retryable failure of that attempt (or to the dead-letter queue when it was the
// last). The next attempt carries the same idempotency key, so a receiver that got the first request processes
// the action once.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { recordDelivery, type RecordOutcome } from './record-delivery.ts';
import type { ExecutionSettings } from './settings.ts';

export async function reapExpiredDeliveries(db: Db, settings: ExecutionSettings): Promise<RecordOutcome[]> {
  const expired = await db
    .selectFrom('outbox')
    .select(['id', 'decision_id', 'kind', 'connector', 'idempotency_key', 'attempts'])
    .where('status', '=', 'delivering')
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .orderBy('next_attempt_at')
    .limit(500)
    .execute();
  const outcomes: RecordOutcome[] = [];
  for (const row of expired) {
    outcomes.push(
      await recordDelivery(
        db,
        settings,
        {
          id: row.id,
          decisionId: row.decision_id,
          kind: row.kind,
          connector: row.connector,
          idempotencyKey: row.idempotency_key,
          attempts: row.attempts,
        },
        {
          ok: false,
          retryable: true,
          error:
            `attempt ${row.attempts} did not finish within the visibility timeout ` +
            `(${settings.visibilityTimeoutMs / 1000} s): the worker stopped or lost its lease; ` +
            'the next attempt carries the same idempotency key',
        },
        // The worker failed, not the connector.
        { countForBreaker: false },
      ),
    );
  }
  return outcomes;
}
