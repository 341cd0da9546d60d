// When an agent no longer proposes anything for a subject (the contact became an SQL, got an owner, left the
// funnel), its proposals still waiting for a decision are withdrawn. Approved or running ones are left alone:
// a person or the gate already said yes, and their outcome will be observed.
import type { Db } from '../db/database.ts';
import { isAppError } from '../errors.ts';
import { transition, type Actor } from './decision-store.ts';

export const WITHDRAWN_REASON = 'withdrawn: no longer applies';

const WAITING = ['proposed', 'pending_review'] as const;

/** Withdraws the waiting proposals of `agent` (of one action kind) about these subjects; returns their ids. */
export async function withdrawStaleProposals(
  db: Db,
  options: {
    agent: string;
    actionKind: string;
    subjectIds: readonly string[];
    subjectType?: 'contact' | 'account' | 'opportunity';
    now?: Date;
    actor?: Actor;
  },
): Promise<string[]> {
  if (options.subjectIds.length === 0) return [];
  const open = await db
    .selectFrom('decisions')
    .select('id')
    .where('agent', '=', options.agent)
    .where('action_kind', '=', options.actionKind)
    .where('subject_type', '=', options.subjectType ?? 'contact')
    .where('subject_id', 'in', [...options.subjectIds])
    .where('status', 'in', [...WAITING])
    .execute();
  const withdrawn: string[] = [];
  const actor = options.actor ?? { name: `agent:${options.agent}` };
  for (const { id } of open) {
    try {
      await db.transaction().execute((trx) =>
        transition(trx, {
          decisionId: id,
          from: WAITING,
          to: 'withdrawn',
          actor,
          reason: WITHDRAWN_REASON,
          patch: { decided_at: options.now ?? new Date(), claimed_by: null, claim_expires_at: null },
        }),
      );
      withdrawn.push(id);
    } catch (error) {
      // Decided in the meantime (approved, rejected, expired): nothing to withdraw any more.
      if (isAppError(error) && error.code === 'conflict') continue;
      throw error;
    }
  }
  return withdrawn;
}
