// Moving a decision between states: checked against the state machine, conditional on the state it is in
// (so two processes cannot both move it), recorded as a transition and in the audit trail.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { canMove, type DecisionState } from '../domain/decision-state.ts';
import { AppError } from '../errors.ts';

export interface Actor {
  name: string;
  id?: string | null;
}

export const SYSTEM: Actor = { name: 'system' };

export async function transition(
  trx: Db,
  options: {
    decisionId: string;
    from: readonly DecisionState[];
    to: DecisionState;
    actor: Actor;
    reason?: string | null;
    details?: Record<string, unknown>;
    patch?: Record<string, unknown>;
  },
): Promise<void> {
  const allowed = options.from.filter((f) => canMove(f, options.to));
  if (allowed.length === 0)
    throw new AppError('internal', `No move from ${options.from.join('/')} to ${options.to}`);
  const patch = options.patch ?? {};
  const updated = await trx
    .updateTable('decisions')
    .set({ ...patch, status: options.to, updated_at: new Date() })
    .where('id', '=', options.decisionId)
    .where('status', 'in', allowed)
    .returning(['id'])
    .executeTakeFirst();
  if (!updated) {
    const current = await trx
      .selectFrom('decisions')
      .select('status')
      .where('id', '=', options.decisionId)
      .executeTakeFirst();
    if (!current) throw new AppError('not_found', `No decision ${options.decisionId}`);
    throw new AppError(
      'conflict',
      `Decision ${options.decisionId} is ${current.status}; it cannot become ${options.to}`,
      {
        status: current.status,
      },
    );
  }
  const from = await sql<{ from_status: string | null }>`
    select to_status as from_status from decision_transitions where decision_id = ${options.decisionId} order by id desc limit 1`.execute(
    trx,
  );
  await trx
    .insertInto('decision_transitions')
    .values({
      decision_id: options.decisionId,
      from_status: from.rows[0]?.from_status ?? null,
      to_status: options.to,
      actor: options.actor.name,
      reason: options.reason ?? null,
      details: options.details ? JSON.stringify(options.details) : null,
    })
    .execute();
  await appendAudit(trx, {
    actor: options.actor.name,
    actorId: options.actor.id ?? null,
    action: `decision.${options.to}`,
    subjectType: 'decision',
    subjectId: options.decisionId,
    reason: options.reason ?? null,
    before: { status: from.rows[0]?.from_status ?? null },
    after: { status: options.to, ...(options.details ?? {}) },
  });
}
