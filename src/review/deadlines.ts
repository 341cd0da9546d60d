// SLA timers for decisions waiting for review, run every minute by the `review.deadlines` job:
// - a decision past its deadline fails closed: `expired` (on_deadline: expire, also when unset) or `rejected`
//   with reason "denied by deadline" (deny). Never approved.
// - the escalation chain from the policy (gate.review.escalation) advances one step when next_escalation_at
//   passes: remind (an audit entry and a "reminder" comment), reassign (to another eligible reviewer, the
//   backup), escalate_to_manager (to the assignee's manager if they may review it, else an admin). The next
//   step is timed from the moment the decision went to review, as the policy's `after` says.
// - claims whose lease ran out are released.
// Each decision is handled in its own transaction, skipping rows another process holds; every change goes
// through `transition` or is audited.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { SYSTEM, transition } from '../agents/decision-store.ts';
import { chooseReviewer } from './assign.ts';
import { insertComment } from './comment.ts';
import {
  mayReview,
  pendingSince,
  requiredRoleOf,
  tallyReviews,
  type DecisionRow,
} from './review-repository.ts';

export type EscalationAction = 'remind' | 'reassign' | 'escalate_to_manager';

export interface DeadlineRun {
  expired: number;
  denied: number;
  escalations: Record<EscalationAction, number>;
  claims_released: number;
}

/** The author of the comments the system leaves: an inactive machine identity without roles (it cannot sign in). */
export const SYSTEM_USER_EMAIL = 'system@funnelgate.local';

const BATCH = 1000;
/** The longest escalation chain a policy may have: one step per round, so a late run catches up. */
const MAX_ROUNDS = 10;

export async function runDeadlines(
  db: Db,
  options: { now?: Date; batch?: number } = {},
): Promise<DeadlineRun> {
  const now = options.now ?? new Date();
  const batch = options.batch ?? BATCH;
  const run: DeadlineRun = {
    expired: 0,
    denied: 0,
    escalations: { remind: 0, reassign: 0, escalate_to_manager: 0 },
    claims_released: 0,
  };
  const overdue = await db
    .selectFrom('decisions')
    .select('id')
    .where('status', '=', 'pending_review')
    .where('deadline_at', '<=', now)
    .orderBy('deadline_at')
    .limit(batch)
    .execute();
  for (const { id } of overdue) {
    const outcome = await applyDeadline(db, id, now);
    if (outcome) run[outcome]++;
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const due = await db
      .selectFrom('decisions')
      .select('id')
      .where('status', '=', 'pending_review')
      .where('next_escalation_at', '<=', now)
      .where('deadline_at', '>', now)
      .orderBy('next_escalation_at')
      .limit(batch)
      .execute();
    if (due.length === 0) break;
    for (const { id } of due) {
      const step = await escalate(db, id, now);
      if (step) run.escalations[step]++;
    }
  }
  run.claims_released = await releaseExpiredClaims(db, now, batch);
  return run;
}

async function lockDue(
  trx: Db,
  id: string,
  condition: RawBuilder<boolean>,
): Promise<DecisionRow | undefined> {
  return trx
    .selectFrom('decisions')
    .selectAll()
    .where('id', '=', id)
    .where('status', '=', 'pending_review')
    .where(condition)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

async function applyDeadline(db: Db, id: string, now: Date): Promise<'expired' | 'denied' | null> {
  return db.transaction().execute(async (trx) => {
    const decision = await lockDue(trx, id, sql<boolean>`deadline_at <= ${now}`);
    if (!decision) return null;
    const deny = decision.on_deadline === 'deny';
    await transition(trx, {
      decisionId: id,
      from: ['pending_review'],
      to: deny ? 'rejected' : 'expired',
      actor: SYSTEM,
      reason: deny
        ? 'denied by deadline'
        : `expired: no decision by the deadline (${decision.deadline_at!.toISOString()})`,
      details: { deadline_at: decision.deadline_at, on_deadline: decision.on_deadline ?? 'expire' },
      patch: { decided_at: now, claimed_by: null, claim_expires_at: null, next_escalation_at: null },
    });
    return deny ? 'denied' : 'expired';
  });
}

interface EscalationStep {
  after: number;
  action: EscalationAction;
}

async function escalate(db: Db, id: string, now: Date): Promise<EscalationAction | null> {
  return db.transaction().execute(async (trx) => {
    const decision = await lockDue(
      trx,
      id,
      sql<boolean>`next_escalation_at <= ${now} and deadline_at > ${now}`,
    );
    if (!decision) return null;
    const chain = ((decision.gate as { review?: { escalation?: EscalationStep[] } } | null)?.review
      ?.escalation ?? []) as EscalationStep[];
    const level = decision.escalation_level;
    const step = chain[level];
    const next = chain[level + 1];
    const since = await pendingSince(trx, decision);
    const nextAt = next
      ? new Date((since?.getTime() ?? now.getTime() - (step?.after ?? 0)) + next.after)
      : null;
    let assignee = decision.assigned_to;
    let note: string;
    if (!step) {
      note = `no escalation step ${level + 1} in the policy; the chain ends`;
    } else if (step.action === 'remind') {
      note = await remind(trx, decision);
    } else {
      const target = step.action === 'reassign' ? await backup(trx, decision) : await manager(trx, decision);
      if (target.id) assignee = target.id;
      note = target.note;
    }
    await trx
      .updateTable('decisions')
      .set({
        assigned_to: assignee,
        escalation_level: step ? level + 1 : level,
        next_escalation_at: step ? nextAt : null,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      actor: SYSTEM.name,
      action: `decision.escalation.${step?.action ?? 'end'}`,
      subjectType: 'decision',
      subjectId: id,
      reason: note,
      before: {
        assigned_to: decision.assigned_to,
        escalation_level: level,
        next_escalation_at: decision.next_escalation_at,
      },
      after: {
        assigned_to: assignee,
        escalation_level: step ? level + 1 : level,
        next_escalation_at: step ? nextAt : null,
      },
    });
    return step?.action ?? null;
  });
}

async function remind(trx: Db, decision: DecisionRow): Promise<string> {
  const tally = await tallyReviews(trx, decision);
  const assignee = decision.assigned_to ? await userLabel(trx, decision.assigned_to) : null;
  const body =
    `reminder: this decision is waiting for review${assignee ? ` (assigned to ${assignee})` : ''}; ` +
    `${tally.approvers.length} of ${decision.approvals_required} approval(s) so far; ` +
    `deadline ${decision.deadline_at!.toISOString()}, then it will be ${decision.on_deadline === 'deny' ? 'denied' : 'expired'}`;
  await insertComment(trx, { decisionId: decision.id, author: await systemUser(trx), body });
  return body;
}

/** Another eligible reviewer: not the current assignee, and nobody who already reviewed the decision. */
async function backup(trx: Db, decision: DecisionRow): Promise<{ id: string | null; note: string }> {
  const reviewed = (await tallyReviews(trx, decision)).reviews.map((r) => r.reviewer_id);
  const exclude = [...(decision.assigned_to ? [decision.assigned_to] : []), ...reviewed];
  const id = await chooseReviewer(trx, {
    role: requiredRoleOf(decision),
    skills: skillsOf(decision),
    exclude,
  });
  if (!id)
    return { id: null, note: 'reassign: no other eligible reviewer with capacity; assignment unchanged' };
  return { id, note: `reassigned to the backup reviewer ${await userLabel(trx, id)}` };
}

/**
 * The assignee's manager, if they may review the decision (its role, or admin); else an admin. A manager who
 * may not review it would only hold it until the deadline, so they are passed over (and the note says so).
 */
async function manager(trx: Db, decision: DecisionRow): Promise<{ id: string | null; note: string }> {
  const role = requiredRoleOf(decision);
  let passedOver = '';
  if (decision.assigned_to) {
    const boss = await trx
      .selectFrom('users as u')
      .innerJoin('users as m', 'm.id', 'u.manager_id')
      .select(['m.id', 'm.active', 'm.kind', 'm.roles'])
      .where('u.id', '=', decision.assigned_to)
      .executeTakeFirst();
    if (
      boss &&
      boss.active &&
      boss.kind === 'human' &&
      mayReview(boss.roles, role) &&
      boss.id !== decision.assigned_to
    )
      return { id: boss.id, note: `escalated to the assignee's manager ${await userLabel(trx, boss.id)}` };
    if (boss) passedOver = `the manager ${await userLabel(trx, boss.id)} may not review it (needs ${role}); `;
  }
  const exclude = decision.assigned_to ? [decision.assigned_to] : [];
  const admin = await chooseReviewer(trx, { role: 'admin', skills: [], exclude });
  if (admin) return { id: admin, note: `${passedOver}escalated to the admin ${await userLabel(trx, admin)}` };
  return { id: null, note: `${passedOver}no manager or admin to escalate to; assignment unchanged` };
}

function skillsOf(decision: DecisionRow): string[] {
  const facts = (decision.facts ?? {}) as { segment?: string | null; skills?: string[] };
  return [decision.action_type, ...(facts.segment ? [facts.segment] : []), ...(facts.skills ?? [])];
}

async function userLabel(trx: Db, id: string): Promise<string> {
  const user = await trx
    .selectFrom('users')
    .select(['name', 'email'])
    .where('id', '=', id)
    .executeTakeFirst();
  return user ? `${user.name} <${user.email}>` : id;
}

async function systemUser(trx: Db): Promise<{ id: string; name: string }> {
  await sql`
    insert into users (email, name, kind, roles, active, capacity)
    values (${SYSTEM_USER_EMAIL}, 'Funnelgate', 'machine', '{}', false, 0)
    on conflict ((lower(email))) do nothing`.execute(trx);
  const user = await trx
    .selectFrom('users')
    .select(['id'])
    .where(sql`lower(email)`, '=', SYSTEM_USER_EMAIL)
    .executeTakeFirstOrThrow();
  return { id: user.id, name: SYSTEM.name };
}

async function releaseExpiredClaims(db: Db, now: Date, batch: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const expired = await trx
      .selectFrom('decisions')
      .select(['id', 'claimed_by', 'claim_expires_at'])
      .where('claimed_by', 'is not', null)
      .where('claim_expires_at', '<=', now)
      .limit(batch)
      .forUpdate()
      .skipLocked()
      .execute();
    for (const claim of expired) {
      await trx
        .updateTable('decisions')
        .set({ claimed_by: null, claim_expires_at: null })
        .where('id', '=', claim.id)
        .execute();
      await appendAudit(trx, {
        actor: SYSTEM.name,
        action: 'decision.claim_expired',
        subjectType: 'decision',
        subjectId: claim.id,
        reason: 'the claim lease ran out',
        before: { claimed_by: claim.claimed_by, claim_expires_at: claim.claim_expires_at },
        after: { claimed_by: null },
      });
    }
    return expired.length;
  });
}
