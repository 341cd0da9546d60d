// The global circuit breaker: when open, every proposal goes to a human. Opened by hand (or by monitoring,
// later); only a policy owner closes it, with a reason. Both moves are audited.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Actor } from '../agents/decision-store.ts';
import { breakerState } from './active-policy.ts';

export async function setBreaker(
  db: Db,
  options: { open: boolean; reason: string; by: Actor; trigger?: string },
) {
  return db.transaction().execute(async (trx) => {
    const before = await breakerState(trx);
    await trx
      .updateTable('circuit_breaker')
      .set({
        open: options.open,
        reason: options.reason,
        changed_by: options.by.name,
        changed_at: new Date(),
        trigger: options.trigger ?? 'manual',
      })
      .where('id', '=', 1)
      .execute();
    await appendAudit(trx, {
      actor: options.by.name,
      actorId: options.by.id ?? null,
      action: options.open ? 'breaker.open' : 'breaker.close',
      subjectType: 'circuit_breaker',
      subjectId: 'global',
      reason: options.reason,
      before: { open: before.open },
      after: { open: options.open, trigger: options.trigger ?? 'manual' },
    });
    return breakerState(trx);
  });
}
