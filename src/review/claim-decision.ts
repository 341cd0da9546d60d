// A claim is a lease: while it runs, nobody else can claim or review the decision, so two reviewers do not
// work the same item. The holder renews it by claiming again and lets go with `release`; a lease that runs out
// is released by the deadlines job. Claims, releases and renewals are audited.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import {
  activeClaim,
  assertMayReview,
  claimConflict,
  lockDecision,
  type DecisionRow,
  type Reviewer,
} from './review-repository.ts';

export const CLAIM_LEASE_MS = 10 * 60_000;

export interface ClaimView {
  decision_id: string;
  claimed_by: string | null;
  claim_expires_at: Date | null;
}

export async function claimDecision(
  db: Db,
  options: { decisionId: string; reviewer: Reviewer; release?: boolean; now?: Date; leaseMs?: number },
): Promise<ClaimView> {
  const now = options.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    const decision = await lockDecision(trx, options.decisionId);
    const claim = activeClaim(decision, now);
    if (options.release) return release(trx, decision, claim, options.reviewer);

    await assertMayReview(trx, options.reviewer, decision);
    assertReviewable(decision, now);
    if (claim && claim.by !== options.reviewer.id) throw await claimConflict(trx, decision.id, claim);

    const expiresAt = new Date(now.getTime() + (options.leaseMs ?? CLAIM_LEASE_MS));
    await trx
      .updateTable('decisions')
      .set({ claimed_by: options.reviewer.id, claim_expires_at: expiresAt, updated_at: now })
      .where('id', '=', decision.id)
      .execute();
    await appendAudit(trx, {
      actor: options.reviewer.name,
      actorId: options.reviewer.id,
      // A renewal keeps the claim's start: seconds_to_decide counts from the first claim.
      action: claim ? 'decision.claim_renewed' : 'decision.claim',
      subjectType: 'decision',
      subjectId: decision.id,
      before: { claimed_by: decision.claimed_by, claim_expires_at: decision.claim_expires_at },
      after: { claimed_by: options.reviewer.id, claim_expires_at: expiresAt },
    });
    return { decision_id: decision.id, claimed_by: options.reviewer.id, claim_expires_at: expiresAt };
  });
}

/** A decision can be claimed or reviewed only while it waits for review and its deadline has not passed. */
export function assertReviewable(decision: DecisionRow, now: Date): void {
  if (decision.status !== 'pending_review') {
    throw new AppError(
      'conflict',
      `Decision ${decision.id} is ${decision.status}; only decisions in pending_review can be claimed or reviewed`,
      { status: decision.status },
    );
  }
  if (decision.deadline_at && decision.deadline_at.getTime() <= now.getTime()) {
    throw new AppError(
      'conflict',
      `The review deadline of decision ${decision.id} passed at ${decision.deadline_at.toISOString()}; ` +
        `it will be ${decision.on_deadline === 'deny' ? 'denied' : 'expired'} (deadlines never approve)`,
      { deadline_at: decision.deadline_at.toISOString(), on_deadline: decision.on_deadline },
    );
  }
}

async function release(
  trx: Db,
  decision: DecisionRow,
  claim: { by: string; expires_at: Date } | null,
  reviewer: Reviewer,
): Promise<ClaimView> {
  if (claim && claim.by !== reviewer.id) throw await claimConflict(trx, decision.id, claim);
  // Releasing a claim one does not hold (or that ran out) changes nothing and is not an error.
  if (decision.claimed_by !== reviewer.id)
    return {
      decision_id: decision.id,
      claimed_by: claim?.by ?? null,
      claim_expires_at: claim?.expires_at ?? null,
    };
  await trx
    .updateTable('decisions')
    .set({ claimed_by: null, claim_expires_at: null, updated_at: new Date() })
    .where('id', '=', decision.id)
    .execute();
  await appendAudit(trx, {
    actor: reviewer.name,
    actorId: reviewer.id,
    action: 'decision.claim_released',
    subjectType: 'decision',
    subjectId: decision.id,
    before: { claimed_by: decision.claimed_by, claim_expires_at: decision.claim_expires_at },
    after: { claimed_by: null },
  });
  return { decision_id: decision.id, claimed_by: null, claim_expires_at: null };
}
