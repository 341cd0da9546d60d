// Undoing an executed, reversible action: the inverse action is written to the outbox together with an audit
// entry, delivered like any action (same connector, key `fg-<decision>-compensation`), and the decision becomes
// `compensated` when it is delivered.
import type { Action } from '../agents/actions.ts';
import type { Actor } from '../agents/decision-store.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { inverseAction } from './guard.ts';
import { enqueueDelivery } from './outbox.ts';

export async function compensateDecision(
  db: Db,
  options: { decisionId: string; actor: Actor; reason: string },
): Promise<{ decision_id: string; outbox_id: string; connector: string; action: Action }> {
  return db.transaction().execute(async (trx) => {
    const decision = await trx
      .selectFrom('decisions')
      .select(['id', 'status', 'approved_action'])
      .where('id', '=', options.decisionId)
      .forUpdate()
      .executeTakeFirst();
    if (!decision) throw new AppError('not_found', `No decision ${options.decisionId}`);
    if (decision.status !== 'executed') {
      throw new AppError(
        'conflict',
        `Decision ${decision.id} is ${decision.status}; only an executed decision can be compensated`,
        { status: decision.status },
      );
    }
    const inverse = inverseAction(decision.approved_action as Action);
    if (!inverse.ok)
      throw new AppError('conflict', `Decision ${decision.id} cannot be undone: ${inverse.reason}`);
    const delivered = await trx
      .selectFrom('outbox')
      .select(['kind', 'connector', 'status'])
      .where('decision_id', '=', decision.id)
      .execute();
    const existing = delivered.find((r) => r.kind === 'compensation');
    if (existing) {
      throw new AppError(
        'conflict',
        `Decision ${decision.id} already has a compensation (${existing.status}); replay it if it is dead`,
        { status: existing.status },
      );
    }
    const original = delivered.find((r) => r.kind === 'action' && r.status === 'delivered');
    if (!original)
      throw new AppError('conflict', `Decision ${decision.id} has no delivered action to compensate`);
    const outboxId = await enqueueDelivery(trx, {
      decisionId: decision.id,
      action: inverse.action,
      connector: original.connector,
      kind: 'compensation',
    });
    await appendAudit(trx, {
      actor: options.actor.name,
      actorId: options.actor.id ?? null,
      action: 'decision.compensation_requested',
      subjectType: 'decision',
      subjectId: decision.id,
      reason: options.reason,
      before: { status: decision.status, action: decision.approved_action },
      after: { outbox_id: outboxId, connector: original.connector, compensation: inverse.action },
    });
    return {
      decision_id: decision.id,
      outbox_id: outboxId,
      connector: original.connector,
      action: inverse.action,
    };
  });
}
