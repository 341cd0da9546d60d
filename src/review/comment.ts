// Comments on a decision: reviewers discussing an item, and the reminders the escalation chain leaves. Allowed in
// any state (a note on why something was rejected is useful after the fact). Audited like every other change
// to a decision, because the comments table itself could be edited.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';

export const COMMENT_MAX_CHARS = 5000;

export interface CommentView {
  id: string;
  decision_id: string;
  author_id: string;
  author: string;
  body: string;
  at: Date;
}

/** Adds a comment in the caller's transaction (the escalation chain adds its reminders this way). */
export async function insertComment(
  trx: Db,
  options: { decisionId: string; author: { id: string; name: string }; body: string },
): Promise<CommentView> {
  const body = options.body.trim();
  if (!body || body.length > COMMENT_MAX_CHARS) {
    throw new AppError('validation_failed', `A comment has 1 to ${COMMENT_MAX_CHARS} characters`, {
      fields: [{ field: 'body', message: `must have 1 to ${COMMENT_MAX_CHARS} characters` }],
    });
  }
  const comment = await trx
    .insertInto('decision_comments')
    .values({
      decision_id: options.decisionId,
      author_id: options.author.id,
      author: options.author.name,
      body,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actor: options.author.name,
    actorId: options.author.id,
    action: 'decision.comment',
    subjectType: 'decision',
    subjectId: options.decisionId,
    after: { comment_id: comment.id, body },
  });
  return comment;
}

export async function addComment(
  db: Db,
  options: { decisionId: string; author: { id: string; name: string }; body: string },
): Promise<CommentView> {
  return db.transaction().execute(async (trx) => {
    const decision = await trx
      .selectFrom('decisions')
      .select('id')
      .where('id', '=', options.decisionId)
      .executeTakeFirst();
    if (!decision) throw new AppError('not_found', `No decision ${options.decisionId}`);
    return insertComment(trx, options);
  });
}
