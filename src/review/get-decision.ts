// One decision as a reviewer sees it: the proposal with its explanation, dissent and mitigations, the version of
// the action awaiting approval (the last edit, or the proposal), the approvals so far, the current claim, the
// reviews, comments and transitions, and once approved the frozen action with its diff against the proposal.
import type { Db } from '../db/database.ts';
import { actionDiff, type Action } from '../agents/actions.ts';
import { AppError } from '../errors.ts';
import { activeClaim, tallyReviews, type DecisionRow, type ReviewRow } from './review-repository.ts';

export interface DecisionDetail {
  decision: DecisionRow;
  current_action: Action;
  diff: { field: string; before: unknown; after: unknown }[] | null;
  approvals: { required: number; given: number; approvers: string[] };
  claim: { claimed_by: string; claimed_by_name: string | null; claim_expires_at: Date } | null;
  assigned_to_name: string | null;
  reviews: ReviewRow[];
  comments: { id: string; author_id: string; author: string; body: string; at: Date }[];
  transitions: {
    id: string;
    from_status: string | null;
    to_status: string;
    at: Date;
    actor: string;
    reason: string | null;
    details: unknown;
  }[];
}

export async function getDecision(db: Db, decisionId: string, now = new Date()): Promise<DecisionDetail> {
  const decision = await db
    .selectFrom('decisions')
    .selectAll()
    .where('id', '=', decisionId)
    .executeTakeFirst();
  if (!decision) throw new AppError('not_found', `No decision ${decisionId}`);
  const [tally, comments, transitions] = await Promise.all([
    tallyReviews(db, decision),
    db
      .selectFrom('decision_comments')
      .select(['id', 'author_id', 'author', 'body', 'at'])
      .where('decision_id', '=', decisionId)
      .orderBy('at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('decision_transitions')
      .select(['id', 'from_status', 'to_status', 'at', 'actor', 'reason', 'details'])
      .where('decision_id', '=', decisionId)
      .orderBy('id')
      .execute(),
  ]);
  const claim = activeClaim(decision, now);
  const names = await userNames(db, [claim?.by, decision.assigned_to]);
  const proposed = decision.action as Action;
  const current = (decision.approved_action as Action | null) ?? tally.currentAction;
  const diff = decision.edited || tally.lastEdit ? actionDiff(proposed, current) : null;
  return {
    decision,
    current_action: current,
    diff,
    approvals: {
      required: decision.approvals_required,
      given: tally.approvers.length,
      approvers: tally.approvers,
    },
    claim: claim
      ? {
          claimed_by: claim.by,
          claimed_by_name: names.get(claim.by) ?? null,
          claim_expires_at: claim.expires_at,
        }
      : null,
    assigned_to_name: decision.assigned_to ? (names.get(decision.assigned_to) ?? null) : null,
    reviews: tally.reviews,
    comments,
    transitions,
  };
}

async function userNames(db: Db, ids: (string | null | undefined)[]): Promise<Map<string, string>> {
  const wanted = ids.filter((id): id is string => Boolean(id));
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'name', 'email'])
    .where('id', 'in', wanted)
    .execute();
  return new Map(rows.map((u) => [u.id, `${u.name} <${u.email}>`]));
}
