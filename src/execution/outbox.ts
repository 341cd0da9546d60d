// The transactional outbox: an approved action and its delivery row are written in one transaction, so an
// approval can never be lost between "approved" and "sent", and nothing is sent that was not approved.
import type { Db } from '../db/database.ts';
import type { Action } from '../agents/actions.ts';
import { enqueueJob } from '../jobs/enqueue.ts';

export const DELIVER_JOB = 'execution.deliver';

export async function enqueueDelivery(
  trx: Db,
  options: { decisionId: string; action: Action; connector: string; kind?: 'action' | 'compensation' },
): Promise<string> {
  const kind = options.kind ?? 'action';
  const row = await trx
    .insertInto('outbox')
    .values({
      decision_id: options.decisionId,
      kind,
      connector: options.connector,
      // Stable per decision and kind: a retry or a replay of the same delivery carries the same key.
      idempotency_key: `fg-${options.decisionId}-${kind}`,
      payload: JSON.stringify(options.action),
      status: 'pending',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await wakeDelivery(trx);
  return row.id;
}

/**
 * Asks for a delivery run now, in the caller's transaction (so it exists exactly when the row does). Throttled:
 * while a run is queued, more rows join it instead of adding jobs; a run in progress gets a successor.
 */
export async function wakeDelivery(trx: Db): Promise<void> {
  await enqueueJob(trx, DELIVER_JOB, {}, { jobKey: DELIVER_JOB, jobKeyMode: 'preserve_run_at' });
}
