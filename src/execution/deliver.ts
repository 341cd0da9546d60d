// The delivery loop: reap deliveries whose worker died, then claim due rows one at a time in a few parallel
// lanes, call the connector outside any transaction, and record the result. Each row is attempted at most once
// per run (a row that fails fast waits for its backoff, not for the next turn of the loop).
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { claimNextDelivery, type ClaimedDelivery } from './claim-delivery.ts';
import type { DeliveryResult } from './connectors/connector.ts';
import { refusalReason } from './guard.ts';
import { reapExpiredDeliveries } from './reap-deliveries.ts';
import { recordDelivery, type RecordOutcome } from './record-delivery.ts';
import { resolveRefs } from './resolve-refs.ts';
import { requestTimeoutFor, type ExecutionSettings } from './settings.ts';

export interface DeliveryRunSummary {
  delivered: number;
  retried: number;
  dead: number;
  refused: number;
  waiting: number;
  /** Results not recorded because another worker had taken the delivery over. */
  lost: number;
  /** Deliveries taken back from a worker that stopped mid-delivery. */
  reaped: number;
}

export interface RunOptions {
  /** Parallel deliveries (default 4). */
  lanes?: number;
  /** Stop claiming when aborted (shutdown); requests in flight are abandoned and retried later. */
  signal?: AbortSignal;
  /** Stop claiming after this time (ms since the epoch). */
  deadline?: number;
  logger?: Logger;
}

export async function runDeliveries(
  db: Db,
  settings: ExecutionSettings,
  options: RunOptions = {},
): Promise<DeliveryRunSummary> {
  const summary: DeliveryRunSummary = {
    delivered: 0,
    retried: 0,
    dead: 0,
    refused: 0,
    waiting: 0,
    lost: 0,
    reaped: 0,
  };
  const reaped = await reapExpiredDeliveries(db, settings);
  summary.reaped = reaped.filter((o) => o !== 'lost').length;
  const seen = new Set<string>();
  const stopped = () =>
    Boolean(options.signal?.aborted) || (options.deadline !== undefined && Date.now() > options.deadline);

  const lane = async () => {
    while (!stopped()) {
      const claim = await claimNextDelivery(db, settings, seen);
      if (claim.outcome === 'none') return;
      if (claim.outcome !== 'claimed') {
        seen.add(claim.id);
        summary[claim.outcome]++;
        options.logger?.warn({ outbox_id: claim.id, reason: claim.reason }, `delivery ${claim.outcome}`);
        continue;
      }
      seen.add(claim.delivery.id);
      const outcome = await attempt(db, settings, claim.delivery, options);
      tally(summary, outcome);
      options.logger?.info(
        {
          outbox_id: claim.delivery.id,
          decision_id: claim.delivery.decisionId,
          connector: claim.delivery.connector.name,
          attempt: claim.delivery.attempts,
          outcome,
        },
        'delivery attempted',
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.lanes ?? 4) }, lane));
  return summary;
}

async function attempt(
  db: Db,
  settings: ExecutionSettings,
  delivery: ClaimedDelivery,
  options: RunOptions,
): Promise<RecordOutcome> {
  const ref = {
    id: delivery.id,
    decisionId: delivery.decisionId,
    kind: delivery.kind,
    connector: delivery.connector.name,
    idempotencyKey: delivery.idempotencyKey,
    attempts: delivery.attempts,
  };
  // Checked once more just before the request, outside the claim: never send for a decision that is not
  // executing this very action (fail closed).
  const decision = await db
    .selectFrom('decisions')
    .select(['status', 'approved_action'])
    .where('id', '=', delivery.decisionId)
    .executeTakeFirst();
  const refusal = refusalReason(delivery.kind, decision, delivery.action, 'send');
  if (refusal) {
    return recordDelivery(
      db,
      settings,
      ref,
      { ok: false, retryable: false, error: `refused, nothing was sent: ${refusal}` },
      { countForBreaker: false },
    );
  }
  let result: DeliveryResult;
  try {
    const refs = await resolveRefs(db, delivery.action);
    const timeout = AbortSignal.timeout(requestTimeoutFor(settings));
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    result = await delivery.connector.deliver(
      {
        idempotencyKey: delivery.idempotencyKey,
        decisionId: delivery.decisionId,
        kind: delivery.kind,
        action: delivery.action,
        refs,
      },
      signal,
    );
  } catch (error) {
    result = {
      ok: false,
      retryable: true,
      error: `the ${delivery.connector.name} connector failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return recordDelivery(db, settings, ref, result);
}

function tally(summary: DeliveryRunSummary, outcome: RecordOutcome): void {
  if (outcome === 'delivered') summary.delivered++;
  else if (outcome === 'retry') summary.retried++;
  else if (outcome === 'dead') summary.dead++;
  else summary.lost++;
}

/**
 * When the next delivery will be due: the earliest retry, lease expiry or breaker cool-down among unfinished
 * rows. The job schedules its next run then, so retries do not wait for the minute cron.
 */
export async function nextDeliveryDueAt(db: Db): Promise<Date | null> {
  const row = await sql<{ at: Date | null }>`
    select min(greatest(o.next_attempt_at, coalesce(cs.open_until, o.next_attempt_at))) as at
    from outbox o left join connector_state cs on cs.connector = o.connector
    where o.status in ('pending', 'delivering')`.execute(db);
  return row.rows[0]?.at ?? null;
}
