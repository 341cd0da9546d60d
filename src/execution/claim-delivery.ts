// Claiming one due delivery, in one short transaction: the row is locked (SKIP LOCKED, so workers never wait
// for each other), its decision is checked under a lock and moved to `executing`, and the row becomes
// 'delivering' with a lease (next_attempt_at = now + visibility timeout). A worker that dies mid-delivery leaves
// the row 'delivering'; when the lease runs out it is taken up again (see reap-deliveries.ts).
import { sql } from 'kysely';
import type { Action } from '../agents/actions.ts';
import { SYSTEM, transition } from '../agents/decision-store.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { admitThroughBreaker } from './connector-breaker.ts';
import { connectorFor } from './connectors/index.ts';
import type { Connector } from './connectors/connector.ts';
import { refusalReason } from './guard.ts';
import type { ExecutionSettings } from './settings.ts';

/** A connector that cannot run here is asked again after this long. */
export const UNAVAILABLE_RETRY_MS = 60_000;

export interface ClaimedDelivery {
  id: string;
  decisionId: string;
  kind: 'action' | 'compensation';
  connector: Connector;
  idempotencyKey: string;
  action: Action;
  /** This attempt's number; recording the result is conditional on it (a later claim supersedes this one). */
  attempts: number;
  probe: boolean;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; delivery: ClaimedDelivery }
  | { outcome: 'refused'; id: string; reason: string }
  | { outcome: 'waiting'; id: string; reason: string }
  | { outcome: 'none' };

export async function claimNextDelivery(
  db: Db,
  settings: ExecutionSettings,
  exclude: ReadonlySet<string>,
): Promise<ClaimOutcome> {
  return db.transaction().execute(async (trx) => {
    let query = trx
      .selectFrom('outbox as o')
      .select([
        'o.id',
        'o.decision_id',
        'o.kind',
        'o.connector',
        'o.idempotency_key',
        'o.payload',
        'o.attempts',
      ])
      .where('o.status', '=', 'pending')
      .where('o.next_attempt_at', '<=', sql<Date>`now()`)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('connector_state as cs')
              .select('cs.connector')
              .whereRef('cs.connector', '=', 'o.connector')
              .where('cs.open_until', '>', sql<Date>`now()`),
          ),
        ),
      )
      .orderBy('o.next_attempt_at')
      .limit(1)
      .forUpdate('o')
      .skipLocked();
    if (exclude.size > 0) query = query.where('o.id', 'not in', [...exclude]);
    const row = await query.executeTakeFirst();
    if (!row) return { outcome: 'none' } as const;

    const resolved = connectorFor(row.connector, settings.connectors);
    if ('unavailable' in resolved) {
      await trx
        .updateTable('outbox')
        .set({
          next_attempt_at: sql`now() + make_interval(secs => ${UNAVAILABLE_RETRY_MS / 1000})`,
          last_error: `waiting, not attempted: ${resolved.unavailable}`,
          updated_at: sql`now()`,
        })
        .where('id', '=', row.id)
        .execute();
      return { outcome: 'waiting', id: row.id, reason: resolved.unavailable } as const;
    }

    const decision = await trx
      .selectFrom('decisions')
      .select(['status', 'approved_action'])
      .where('id', '=', row.decision_id)
      .forUpdate()
      .executeTakeFirst();
    const refusal = refusalReason(row.kind, decision, row.payload, 'claim');
    if (refusal) {
      await refuse(trx, row, refusal);
      return { outcome: 'refused', id: row.id, reason: refusal } as const;
    }

    const admission = await admitThroughBreaker(trx, row.connector, {
      ...settings.breaker,
      leaseMs: settings.visibilityTimeoutMs,
    });
    if (!admission.admitted) {
      return { outcome: 'waiting', id: row.id, reason: `the ${row.connector} connector is open` } as const;
    }

    const attempts = row.attempts + 1;
    if (row.kind === 'action' && decision!.status !== 'executing') {
      await transition(trx, {
        decisionId: row.decision_id,
        from: [decision!.status as DecisionState],
        to: 'executing',
        actor: SYSTEM,
        reason:
          decision!.status === 'failed'
            ? `replayed dead letter: delivering again through ${row.connector}`
            : `delivering through ${row.connector}`,
        details: { outbox_id: row.id, connector: row.connector, idempotency_key: row.idempotency_key },
      });
    }
    await trx
      .updateTable('outbox')
      .set({
        status: 'delivering',
        attempts,
        next_attempt_at: sql`now() + make_interval(secs => ${settings.visibilityTimeoutMs / 1000})`,
        updated_at: sql`now()`,
      })
      .where('id', '=', row.id)
      .execute();
    return {
      outcome: 'claimed',
      delivery: {
        id: row.id,
        decisionId: row.decision_id,
        kind: row.kind,
        connector: resolved.connector,
        idempotencyKey: row.idempotency_key,
        action: row.payload as Action,
        attempts,
        probe: admission.probe,
      },
    } as const;
  });
}

/** Refused rows go to the dead-letter queue, unsent, with the reason; the decision is left as it is. */
async function refuse(
  trx: Db,
  row: { id: string; decision_id: string; kind: string; connector: string; idempotency_key: string },
  reason: string,
): Promise<void> {
  await trx
    .updateTable('outbox')
    .set({ status: 'dead', last_error: `refused, nothing was sent: ${reason}`, updated_at: sql`now()` })
    .where('id', '=', row.id)
    .execute();
  await appendAudit(trx, {
    actor: SYSTEM.name,
    action: 'execution.refused',
    subjectType: 'outbox',
    subjectId: row.id,
    reason,
    before: { status: 'pending' },
    after: {
      status: 'dead',
      decision_id: row.decision_id,
      kind: row.kind,
      connector: row.connector,
      idempotency_key: row.idempotency_key,
    },
  });
}
