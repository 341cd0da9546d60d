// Bulk triage: one verdict over a list of ids or a filter. Only decisions waiting for review are considered.
// Each is resolved on its own, in its own transaction, through the same rules as a single review, so one
// refusal or failure does not touch the others. Bulk approval needs the policy's `bulk: true` and a single
// required approval; bulk rejection is allowed for any decision. The reason is required for both verdicts: a
// bulk action is the easiest place to rubber-stamp, and the reason is what the audit trail keeps.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { isAppError, type ErrorCode } from '../errors.ts';
import { filterConditions, type DecisionFilter } from './list-decisions.ts';
import { reviewDecision } from './review-decision.ts';
import type { Reviewer } from './review-repository.ts';

export const BULK_REVIEW_CAP = 500;

export interface BulkItemResult {
  decision_id: string;
  outcome: 'done' | 'refused';
  status: DecisionState | null;
  code?: ErrorCode;
  reason?: string;
}

export interface BulkResult {
  verdict: 'approve' | 'reject';
  matched: number;
  done: number;
  refused: number;
  /** More decisions match the filter than one call handles; call again for the next ones. */
  more: boolean;
  results: BulkItemResult[];
}

export async function bulkReview(
  db: Db,
  options: {
    filter: DecisionFilter;
    verdict: 'approve' | 'reject';
    reason: string;
    reviewer: Reviewer;
    connector: string;
    cap?: number;
    now?: Date;
  },
): Promise<BulkResult> {
  const cap = options.cap ?? BULK_REVIEW_CAP;
  const ids = await selectIds(db, options.filter, cap);
  const results: BulkItemResult[] = [];
  // An id asked for by name that is not there (or not waiting for review) is reported, not skipped silently.
  const named = options.filter.ids ? [...new Set(options.filter.ids)] : null;
  const explicit = (named ?? ids).slice(0, cap);
  for (const decisionId of explicit) {
    if (!ids.includes(decisionId)) {
      results.push(await notPending(db, decisionId));
      continue;
    }
    try {
      const reviewed = await reviewDecision(db, {
        decisionId,
        reviewer: options.reviewer,
        verdict: options.verdict,
        reason: options.reason,
        connector: options.connector,
        bulk: true,
        ...(options.now ? { now: options.now } : {}),
      });
      results.push({ decision_id: decisionId, outcome: 'done', status: reviewed.status });
    } catch (error) {
      if (!isAppError(error) || error.code === 'internal') throw error;
      results.push({
        decision_id: decisionId,
        outcome: 'refused',
        status: null,
        code: error.code,
        reason: error.message,
      });
    }
  }
  const done = results.filter((r) => r.outcome === 'done').length;
  await db.transaction().execute((trx) =>
    appendAudit(trx, {
      actor: options.reviewer.name,
      actorId: options.reviewer.id,
      action: 'decision.bulk_review',
      subjectType: 'decision',
      reason: options.reason,
      after: { verdict: options.verdict, filter: options.filter, done, refused: results.length - done },
    }),
  );
  return {
    verdict: options.verdict,
    matched: results.length,
    done,
    refused: results.length - done,
    more: (named ?? ids).length > cap,
    results,
  };
}

/** Pending decisions matching the filter, soonest deadline first; one more than the cap, to know if more match. */
async function selectIds(db: Db, filter: DecisionFilter, cap: number): Promise<string[]> {
  let query = db.selectFrom('decisions').select('decisions.id');
  for (const condition of filterConditions({ ...filter, status: 'pending_review' }))
    query = query.where(condition);
  const rows = await query
    .orderBy('decisions.deadline_at', (o) => o.asc().nullsLast())
    .orderBy('decisions.id')
    .limit(cap + 1)
    .execute();
  return rows.map((r) => r.id);
}

async function notPending(db: Db, decisionId: string): Promise<BulkItemResult> {
  const row = await db
    .selectFrom('decisions')
    .select('status')
    .where('id', '=', decisionId)
    .executeTakeFirst();
  if (!row)
    return {
      decision_id: decisionId,
      outcome: 'refused',
      status: null,
      code: 'not_found',
      reason: `No decision ${decisionId}`,
    };
  return {
    decision_id: decisionId,
    outcome: 'refused',
    status: row.status as DecisionState,
    code: 'conflict',
    reason:
      row.status === 'pending_review'
        ? `Decision ${decisionId} does not match the rest of the filter`
        : `Decision ${decisionId} is ${row.status}; only decisions in pending_review can be reviewed`,
  };
}
