// Recording what a delivery attempt did, in one short transaction, conditional on the claim still being this
// attempt's (a worker whose lease ran out must not overwrite the attempt that took over). Success: the row is
// 'delivered' and the decision `executed` (a compensation: `compensated`). A retryable failure: back to
// 'pending' after a backoff. A permanent failure, or the last attempt: 'dead' (the dead-letter queue) and the
// decision `failed`.
import { sql } from 'kysely';
import { SYSTEM, transition } from '../agents/decision-store.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import { retryDelayMs } from './backoff.ts';
import { recordConnectorFailure, recordConnectorSuccess } from './connector-breaker.ts';
import type { DeliveryResult } from './connectors/connector.ts';
import type { ExecutionSettings } from './settings.ts';

export interface AttemptRef {
  id: string;
  decisionId: string;
  kind: 'action' | 'compensation';
  connector: string;
  idempotencyKey: string;
  attempts: number;
}

export type RecordOutcome = 'delivered' | 'retry' | 'dead' | 'lost';

export async function recordDelivery(
  db: Db,
  settings: ExecutionSettings,
  attempt: AttemptRef,
  result: DeliveryResult,
  options: { countForBreaker?: boolean } = {},
): Promise<RecordOutcome> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('outbox')
      .select('id')
      .where('id', '=', attempt.id)
      .where('status', '=', 'delivering')
      .where('attempts', '=', attempt.attempts)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return 'lost';
    if (result.ok) {
      await succeed(trx, attempt, result.response);
      return 'delivered';
    }
    if (result.retryable && (options.countForBreaker ?? true))
      await recordConnectorFailure(trx, attempt.connector, settings.breaker);
    if (result.retryable && attempt.attempts < settings.maxAttempts) {
      const delay = retryDelayMs(attempt.attempts, settings.backoff, result.retryAfterMs);
      await trx
        .updateTable('outbox')
        .set({
          status: 'pending',
          next_attempt_at: sql`now() + make_interval(secs => ${delay / 1000})`,
          last_error: result.error,
          updated_at: sql`now()`,
        })
        .where('id', '=', attempt.id)
        .execute();
      return 'retry';
    }
    await bury(trx, attempt, result, settings.maxAttempts);
    return 'dead';
  });
}

async function succeed(trx: Db, attempt: AttemptRef, response: unknown): Promise<void> {
  const delivered = await trx
    .updateTable('outbox')
    .set({
      status: 'delivered',
      response: JSON.stringify(response),
      delivered_at: sql`now()`,
      last_error: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', attempt.id)
    .returning('delivered_at')
    .executeTakeFirstOrThrow();
  await recordConnectorSuccess(trx, attempt.connector);
  const execution = {
    outbox_id: attempt.id,
    connector: attempt.connector,
    idempotency_key: attempt.idempotencyKey,
    attempts: attempt.attempts,
    delivered_at: delivered.delivered_at,
    response: summarise(response),
  };
  if (attempt.kind === 'action') {
    await transition(trx, {
      decisionId: attempt.decisionId,
      from: ['executing'],
      to: 'executed',
      actor: SYSTEM,
      reason: `delivered through ${attempt.connector} (attempt ${attempt.attempts})`,
      details: { outbox_id: attempt.id, connector: attempt.connector, attempts: attempt.attempts },
      patch: { execution: JSON.stringify(execution) },
    });
    return;
  }
  await transition(trx, {
    decisionId: attempt.decisionId,
    from: ['executed'],
    to: 'compensated',
    actor: SYSTEM,
    reason: `compensating action delivered through ${attempt.connector} (attempt ${attempt.attempts})`,
    details: { outbox_id: attempt.id, connector: attempt.connector, attempts: attempt.attempts },
    patch: {
      execution: sql`coalesce(execution, '{}'::jsonb) || jsonb_build_object('compensation', ${JSON.stringify(execution)}::jsonb)`,
    },
  });
}

async function bury(
  trx: Db,
  attempt: AttemptRef,
  result: Extract<DeliveryResult, { ok: false }>,
  maxAttempts: number,
): Promise<void> {
  const why = result.retryable
    ? `gave up after ${attempt.attempts} attempts (FUNNELGATE_EXECUTION_MAX_ATTEMPTS=${maxAttempts}): ${result.error}`
    : `permanent failure: ${result.error}`;
  await trx
    .updateTable('outbox')
    .set({
      status: 'dead',
      last_error: why,
      response: JSON.stringify({ error: result.error, ...(result.status ? { status: result.status } : {}) }),
      updated_at: sql`now()`,
    })
    .where('id', '=', attempt.id)
    .execute();
  const details = {
    outbox_id: attempt.id,
    connector: attempt.connector,
    attempts: attempt.attempts,
    ...(result.status ? { status: result.status } : {}),
  };
  if (attempt.kind === 'action') {
    await transition(trx, {
      decisionId: attempt.decisionId,
      from: ['executing'],
      to: 'failed',
      actor: SYSTEM,
      reason: `${why.slice(0, 1500)}; in the dead-letter queue, replay with POST /v1/outbox/${attempt.id}/replay`,
      details,
      patch: {
        execution: JSON.stringify({
          ...details,
          idempotency_key: attempt.idempotencyKey,
          error: result.error,
          dead: true,
        }),
      },
    });
    return;
  }
  // A compensation that could not be delivered leaves the decision executed; the dead letter says why.
  await appendAudit(trx, {
    actor: SYSTEM.name,
    action: 'execution.compensation_failed',
    subjectType: 'decision',
    subjectId: attempt.decisionId,
    reason: why.slice(0, 2000),
    after: details,
  });
}

/** What the decision keeps of a response: the status and a short body. The outbox row keeps the rest. */
function summarise(response: unknown): unknown {
  if (!response || typeof response !== 'object') return response ?? null;
  const r = response as Record<string, unknown>;
  const body = r['body'];
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ...(r['status'] !== undefined ? { status: r['status'] } : {}),
    ...(r['nothing_left_the_building'] ? { nothing_left_the_building: true } : {}),
    ...(text !== undefined ? { body: text.length > 500 ? `${text.slice(0, 500)}…` : text } : {}),
  };
}
