// The rows the review use cases share: a decision locked for the length of a transaction, the reviews so far
// and what they add up to, and who may review.
//
// Approvals and edits: an edit starts a new version of the action. Approvals given before it were given for an
// earlier version and do not count for the edited one; the editor's own review counts as the new version's
// first approval. The unique index on reviews (decision, reviewer) allows one review per reviewer, so someone
// who approved an earlier version cannot approve the edited one: another reviewer has to.
import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { DecisionsTable, ReviewsTable } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { Action } from '../agents/actions.ts';

export type DecisionRow = Selectable<DecisionsTable>;
export type ReviewRow = Selectable<ReviewsTable>;

/** Who is reviewing: the user, by id, with the roles the caller's token carries. */
export interface Reviewer {
  id: string;
  name: string;
  roles: readonly string[];
}

export const APPROVING_VERDICTS = ['approve', 'edit'] as const;

/** Locks the decision row until the transaction ends: reviews, claims and deadlines on one decision queue. */
export async function lockDecision(trx: Db, decisionId: string): Promise<DecisionRow> {
  const row = await trx
    .selectFrom('decisions')
    .selectAll()
    .where('id', '=', decisionId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', `No decision ${decisionId}`);
  return row;
}

/** The role a decision needs; admins may review anything. */
export function requiredRoleOf(decision: Pick<DecisionRow, 'required_role'>): string {
  return decision.required_role ?? 'reviewer';
}

export function mayReview(roles: readonly string[], requiredRole: string): boolean {
  return roles.includes(requiredRole) || roles.includes('admin');
}

/**
 * Refuses (403) a reviewer who is not an active human holding the decision's required role or admin. The roles
 * are the token's, limited to those the user still has, so a role taken away stops working at once.
 */
export async function assertMayReview(
  trx: Db,
  reviewer: Reviewer,
  decision: Pick<DecisionRow, 'id' | 'required_role'>,
): Promise<void> {
  const user = await trx
    .selectFrom('users')
    .select(['active', 'kind', 'roles'])
    .where('id', '=', reviewer.id)
    .executeTakeFirst();
  if (!user || !user.active) throw new AppError('forbidden', `User ${reviewer.name} is not an active user`);
  if (user.kind !== 'human')
    throw new AppError('forbidden', 'Decisions are reviewed by people: machine identities cannot review');
  const roles = reviewer.roles.filter((role) => user.roles.includes(role));
  const required = requiredRoleOf(decision);
  if (!mayReview(roles, required)) {
    throw new AppError(
      'forbidden',
      `Decision ${decision.id} needs a reviewer with the role "${required}" (or admin); you have: ${roles.join(', ') || 'none'}`,
      { required_role: required, roles },
    );
  }
}

/** The claim, if someone holds one that has not run out. */
export function activeClaim(
  decision: Pick<DecisionRow, 'claimed_by' | 'claim_expires_at'>,
  now: Date,
): { by: string; expires_at: Date } | null {
  if (!decision.claimed_by || !decision.claim_expires_at) return null;
  if (decision.claim_expires_at.getTime() <= now.getTime()) return null;
  return { by: decision.claimed_by, expires_at: decision.claim_expires_at };
}

export async function claimConflict(
  trx: Db,
  decisionId: string,
  claim: { by: string; expires_at: Date },
): Promise<AppError> {
  const holder = await trx
    .selectFrom('users')
    .select(['name', 'email'])
    .where('id', '=', claim.by)
    .executeTakeFirst();
  const name = holder ? `${holder.name} <${holder.email}>` : claim.by;
  return new AppError(
    'conflict',
    `Decision ${decisionId} is claimed by ${name} until ${claim.expires_at.toISOString()}`,
    { claimed_by: claim.by, claimed_by_name: name, claim_expires_at: claim.expires_at.toISOString() },
  );
}

/** When the decision started waiting for review (the gate fixed the deadline relative to that moment). */
export async function pendingSince(trx: Db, decision: DecisionRow): Promise<Date | null> {
  const reviewDeadlineMs = (decision.gate as { review?: { deadline?: unknown } } | null)?.review?.deadline;
  if (decision.deadline_at && typeof reviewDeadlineMs === 'number')
    return new Date(decision.deadline_at.getTime() - reviewDeadlineMs);
  const row = await trx
    .selectFrom('decision_transitions')
    .select('at')
    .where('decision_id', '=', decision.id)
    .where('to_status', '=', 'pending_review')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.at ?? null;
}

export interface ReviewTally {
  reviews: ReviewRow[];
  /** Reviewer ids whose approval counts for the current version of the action. */
  approvers: string[];
  /** The version awaiting approval: the last edit, or the proposal. */
  currentAction: Action;
  lastEdit: ReviewRow | null;
}

/** Reviews in the order they were given (`at` is the clock time at insert, under the decision's row lock). */
export async function tallyReviews(
  trx: Db,
  decision: Pick<DecisionRow, 'id' | 'action'>,
): Promise<ReviewTally> {
  const reviews = await trx
    .selectFrom('reviews')
    .selectAll()
    .where('decision_id', '=', decision.id)
    .orderBy('at')
    .orderBy('id')
    .execute();
  const lastEditIndex = reviews.findLastIndex((r) => r.verdict === 'edit');
  const lastEdit = lastEditIndex >= 0 ? reviews[lastEditIndex]! : null;
  const approvers = reviews
    .slice(Math.max(lastEditIndex, 0))
    .filter((r) => r.verdict === 'approve' || r.verdict === 'edit')
    .map((r) => r.reviewer_id);
  return {
    reviews,
    approvers,
    currentAction: (lastEdit?.edited_action ?? decision.action) as Action,
    lastEdit,
  };
}

/** The SQL twin of tallyReviews' count, for lists: approvals that count for the current version. */
export const approvalsGivenSql = sql<number>`(
  select count(*)::int from reviews r
  where r.decision_id = decisions.id and r.verdict in ('approve', 'edit')
    and r.at >= coalesce(
      (select max(e.at) from reviews e where e.decision_id = decisions.id and e.verdict = 'edit'),
      '-infinity'::timestamptz))`;
