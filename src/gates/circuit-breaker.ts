// The global circuit breaker: when open, every proposal goes to a human. Opened by hand, or by monitoring when
// an alarm reaches its threshold (the breaker then names the alarm); only a policy owner closes it, with a
// reason, which also acknowledges the alarms that were open. Every move is audited.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Actor } from '../agents/decision-store.ts';
import { AppError } from '../errors.ts';
import { breakerState } from './active-policy.ts';

export interface BreakerChange {
  open: boolean;
  reason: string;
  by: Actor;
  /** 'manual' (default) or 'alarm'. */
  trigger?: string;
  /** The alarm that tripped it (automatic trips). */
  alarmId?: string | null;
}

export async function setBreaker(db: Db, options: BreakerChange) {
  return db.transaction().execute((trx) => setBreakerIn(trx, options));
}

/** The same, inside the caller's transaction (monitoring trips the breaker with the alarm it records). */
export async function setBreakerIn(trx: Db, options: BreakerChange) {
  if (!options.reason || options.reason.trim().length < 3)
    throw new AppError(
      'validation_failed',
      'Say why the circuit breaker changes (a reason of 3 characters or more)',
    );
  const before = await breakerState(trx);
  const trigger = options.trigger ?? 'manual';
  await trx
    .updateTable('circuit_breaker')
    .set({
      open: options.open,
      reason: options.reason,
      changed_by: options.by.name,
      changed_at: new Date(),
      trigger,
      alarm_id: options.open ? (options.alarmId ?? null) : null,
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
    before: { open: before.open, trigger: before.trigger },
    after: { open: options.open, trigger, ...(options.alarmId ? { alarm_id: options.alarmId } : {}) },
  });
  if (!options.open) await acknowledgeOpenAlarms(trx, options);
  return breakerState(trx);
}

/**
 * A reset says "we looked, automation may run again": the alarms open at that moment are acknowledged (and no
 * longer hold automation back). A condition that clears and comes back opens a new alarm, which trips again.
 */
async function acknowledgeOpenAlarms(trx: Db, options: BreakerChange): Promise<void> {
  const acknowledged = await trx
    .updateTable('alarms')
    .set({
      acknowledged_at: new Date(),
      acknowledged_by: options.by.name,
      acknowledge_reason: options.reason,
    })
    .where('status', '=', 'open')
    .where('acknowledged_at', 'is', null)
    .returning(['id', 'kind', 'key'])
    .execute();
  for (const alarm of acknowledged) {
    await appendAudit(trx, {
      actor: options.by.name,
      actorId: options.by.id ?? null,
      action: 'alarm.acknowledge',
      subjectType: 'alarm',
      subjectId: alarm.id,
      reason: options.reason,
      before: { acknowledged: false },
      after: { acknowledged: true, kind: alarm.kind, key: alarm.key },
    });
  }
}
