// A reviewer's verdict on a decision waiting for review: approve, reject (reason required) or edit (reason
// required; the edited action is validated, keeps the action type and the subject, and is frozen with its diff
// against the proposal). One review per reviewer (unique index): someone who approved cannot later reject or
// approve again (they can comment). A reject by anyone rejects. When the approvals
// that count for the current version of the action reach approvals_required, the decision becomes approved
// (edited_approved if the version is an edit) with that version frozen as approved_action, and its outbox row is
// written in the same transaction. Approvals given before an edit do not count for the edited version (see
// review-repository.ts).
//
// Claims: the reviewer must hold the claim, or the decision must be unclaimed; then the row lock held for this
// transaction is the implicit claim. A recorded review releases the claim, so the next approver can take it.
// A review after the deadline is refused even before the deadlines job has expired the decision (fail closed).
// The assignee is a routing hint: any eligible reviewer may claim and review.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { appendAudit, canonicalJson } from '../audit/audit-log.ts';
import { actionDiff, validateAction, type Action } from '../agents/actions.ts';
import { transition } from '../agents/decision-store.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { AppError } from '../errors.ts';
import { enqueueDelivery } from '../execution/outbox.ts';
import { assertReviewable } from './claim-decision.ts';
import {
  activeClaim,
  assertMayReview,
  claimConflict,
  lockDecision,
  pendingSince,
  tallyReviews,
  type DecisionRow,
  type Reviewer,
} from './review-repository.ts';

export type Verdict = 'approve' | 'reject' | 'edit';

export interface ReviewInput {
  decisionId: string;
  reviewer: Reviewer;
  verdict: Verdict;
  reason?: string | null | undefined;
  /** edit: the edited action. approve: optional; if given, it must be the version awaiting approval. */
  action?: unknown;
  /** Where an approved action is delivered (config.executionConnector). */
  connector: string;
  /** Bulk approval: refused unless the policy allows bulk and a single approval is needed. */
  bulk?: boolean;
  now?: Date;
}

export interface ReviewResult {
  decision_id: string;
  review_id: string;
  verdict: Verdict;
  status: DecisionState;
  approvals: { given: number; required: number };
  approved_action: Action | null;
  diff: { field: string; before: unknown; after: unknown }[] | null;
}

const SUBJECT_PARAMS = ['contact_id', 'account_id', 'opportunity_id'];

export async function reviewDecision(db: Db, input: ReviewInput): Promise<ReviewResult> {
  const now = input.now ?? new Date();
  const reason = input.reason?.trim() || null;
  if (input.verdict !== 'approve' && !reason) {
    throw new AppError('validation_failed', `A reason is required to ${input.verdict} a decision`, {
      fields: [{ field: 'reason', message: `required when the verdict is ${input.verdict}` }],
    });
  }
  return db.transaction().execute(async (trx) => {
    const decision = await lockDecision(trx, input.decisionId);
    await assertMayReview(trx, input.reviewer, decision);
    assertReviewable(decision, now);
    const claim = activeClaim(decision, now);
    if (claim && claim.by !== input.reviewer.id) throw await claimConflict(trx, decision.id, claim);
    if (input.bulk && input.verdict === 'approve') assertBulkApprovable(decision);

    const tally = await tallyReviews(trx, decision);
    const earlier = tally.reviews.find((r) => r.reviewer_id === input.reviewer.id);
    if (earlier) {
      throw new AppError(
        'conflict',
        `You already reviewed decision ${decision.id} (${earlier.verdict} at ${earlier.at.toISOString()}); ` +
          'approvals must come from distinct reviewers',
        { review_id: earlier.id, verdict: earlier.verdict },
      );
    }

    let edited: Action | null = null;
    if (input.verdict === 'edit') edited = checkEdit(decision, tally.currentAction, input.action);
    if (input.verdict === 'approve' && input.action !== undefined && input.action !== null) {
      if (canonicalJson(input.action) !== canonicalJson(tally.currentAction)) {
        throw new AppError(
          'conflict',
          'The action changed since you loaded it (someone edited it); reload the decision and review the current version',
          { current_action: tally.currentAction },
        );
      }
    }
    const diff = edited ? actionDiff(decision.action as Action, edited) : null;

    const review = await trx
      .insertInto('reviews')
      .values({
        decision_id: decision.id,
        reviewer_id: input.reviewer.id,
        reviewer: input.reviewer.name,
        verdict: input.verdict,
        reason,
        edited_action: edited ? JSON.stringify(edited) : null,
        diff: diff ? JSON.stringify(diff) : null,
        // The clock at insert, not the transaction start: reviews of one decision are ordered by it.
        at: sql<Date>`clock_timestamp()`,
        seconds_to_decide: await secondsToDecide(trx, decision, input.reviewer, claim, now),
      })
      .returning(['id'])
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: input.reviewer.name,
      actorId: input.reviewer.id,
      action: 'decision.review',
      subjectType: 'decision',
      subjectId: decision.id,
      reason,
      after: {
        review_id: review.id,
        verdict: input.verdict,
        ...(edited ? { edited_action: edited, diff } : {}),
        ...(input.bulk ? { bulk: true } : {}),
      },
    });

    const actor = { name: input.reviewer.name, id: input.reviewer.id };
    const required = decision.approvals_required;
    const cleared = { claimed_by: null, claim_expires_at: null };
    if (input.verdict === 'reject') {
      await transition(trx, {
        decisionId: decision.id,
        from: ['pending_review'],
        to: 'rejected',
        actor,
        reason,
        details: { review_id: review.id },
        patch: { ...cleared, decided_at: now },
      });
      return result(
        decision.id,
        review.id,
        input.verdict,
        'rejected',
        tally.approvers.length,
        required,
        null,
        diff,
      );
    }

    const approvers = edited ? [input.reviewer.id] : [...tally.approvers, input.reviewer.id];
    const version = edited ?? tally.currentAction;
    const isEdit = edited !== null || tally.lastEdit !== null;
    if (approvers.length < required) {
      await trx
        .updateTable('decisions')
        .set({ ...cleared, updated_at: now })
        .where('id', '=', decision.id)
        .execute();
      return result(
        decision.id,
        review.id,
        input.verdict,
        'pending_review',
        approvers.length,
        required,
        null,
        diff,
      );
    }
    const to: DecisionState = isEdit ? 'edited_approved' : 'approved';
    await transition(trx, {
      decisionId: decision.id,
      from: ['pending_review'],
      to,
      actor,
      reason: reason ?? `${approvers.length} of ${required} approval(s)`,
      details: { review_id: review.id, approvers, ...(isEdit ? { edited: true } : {}) },
      patch: { ...cleared, approved_action: JSON.stringify(version), edited: isEdit, decided_at: now },
    });
    await enqueueDelivery(trx, { decisionId: decision.id, action: version, connector: input.connector });
    return result(decision.id, review.id, input.verdict, to, approvers.length, required, version, diff);
  });
}

function result(
  decisionId: string,
  reviewId: string,
  verdict: Verdict,
  status: DecisionState,
  given: number,
  required: number,
  approvedAction: Action | null,
  diff: ReviewResult['diff'],
): ReviewResult {
  return {
    decision_id: decisionId,
    review_id: reviewId,
    verdict,
    status,
    approvals: { given, required },
    approved_action: approvedAction,
    diff,
  };
}

function assertBulkApprovable(decision: DecisionRow): void {
  const gate = decision.gate as { rule?: string | null; review?: { bulk?: unknown } } | null;
  if (gate?.review?.bulk !== true) {
    throw new AppError(
      'forbidden',
      `The policy${gate?.rule ? ` rule "${gate.rule}"` : ''} does not allow bulk approval of this decision; review it on its own`,
    );
  }
  if (decision.approvals_required !== 1) {
    throw new AppError(
      'forbidden',
      `This decision needs ${decision.approvals_required} approvals from distinct reviewers; bulk approval gives only one`,
    );
  }
}

/** Validates an edit: a valid action of the same type, about the same subject, different from the current version. */
function checkEdit(decision: DecisionRow, current: Action, raw: unknown): Action {
  if (raw === undefined || raw === null) {
    throw new AppError('validation_failed', 'An edit needs the edited action: { "type", "params" }', {
      fields: [{ field: 'action', message: 'required when the verdict is edit' }],
    });
  }
  const checked = validateAction(raw);
  if (!checked.ok) {
    throw new AppError(
      'validation_failed',
      `The edited action is invalid: ${checked.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      { fields: checked.errors },
    );
  }
  const proposed = decision.action as Action;
  const action = checked.action;
  if (action.type !== proposed.type) {
    throw new AppError('validation_failed', `An edit keeps the action type ${proposed.type}`, {
      fields: [{ field: 'action.type', message: `must stay ${proposed.type}` }],
    });
  }
  for (const key of SUBJECT_PARAMS) {
    if (key in proposed.params && proposed.params[key] !== action.params[key]) {
      throw new AppError(
        'validation_failed',
        `An edit cannot change the subject: ${key} must stay ${String(proposed.params[key])}`,
        {
          fields: [{ field: `action.params.${key}`, message: `must stay ${String(proposed.params[key])}` }],
        },
      );
    }
  }
  if (canonicalJson(action) === canonicalJson(current)) {
    throw new AppError(
      'validation_failed',
      'The edited action is the same as the current one; approve it instead',
      {
        fields: [{ field: 'action', message: 'no change' }],
      },
    );
  }
  return action;
}

/**
 * From the reviewer's claim, when they held one (the time spent on the item); otherwise from the moment the
 * decision started waiting for review.
 */
async function secondsToDecide(
  trx: Db,
  decision: DecisionRow,
  reviewer: Reviewer,
  claim: { by: string } | null,
  now: Date,
): Promise<number | null> {
  let from: Date | null = null;
  if (claim?.by === reviewer.id) {
    const claimed = await trx
      .selectFrom('audit_log')
      .select('at')
      .where('subject_type', '=', 'decision')
      .where('subject_id', '=', decision.id)
      .where('action', '=', 'decision.claim')
      .where('actor_id', '=', reviewer.id)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    from = claimed?.at ?? null;
  }
  from ??= await pendingSince(trx, decision);
  return from ? Math.max(0, (now.getTime() - from.getTime()) / 1000) : null;
}
