// Alarms: one open alarm per (kind, key), opened when a check crosses its warn threshold, updated while the
// condition lasts, resolved when it is gone. An alarm at its alarm threshold trips the circuit breaker once
// (the breaker records the alarm); a policy owner resets the breaker with a reason. Every move is audited.
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { breakerState } from '../gates/active-policy.ts';
import { setBreakerIn } from '../gates/circuit-breaker.ts';

export const MONITORING_ACTOR = { name: 'monitoring' };

export type Severity = 'warn' | 'alarm';

/** What a check found: a value against its two thresholds (higher is worse). */
export interface CheckResult {
  kind: string;
  key: string;
  modelId?: string | null;
  value: number;
  warn: number;
  alarm: number;
  message: string;
  details?: Record<string, unknown>;
  /** Caps the severity, e.g. 'warn' for drift a distribution test does not find significant. */
  maxSeverity?: Severity;
}

export function severityOf(
  check: Pick<CheckResult, 'value' | 'warn' | 'alarm' | 'maxSeverity'>,
): Severity | null {
  if (!Number.isFinite(check.value)) return null;
  if (check.value >= check.alarm) return check.maxSeverity ?? 'alarm';
  if (check.value >= check.warn) return 'warn';
  return null;
}

export interface AlarmChanges {
  opened: string[];
  updated: string[];
  resolved: string[];
  tripped: string | null;
}

/**
 * Applies one monitoring run's results: `checks` are everything that was measured (in `kinds`); an open alarm
 * of those kinds that no check raises any more is resolved. Kinds not measured this run are left alone.
 */
export async function applyChecks(
  db: Db,
  checks: readonly CheckResult[],
  kinds: readonly string[],
  options: { tripBreaker: boolean },
): Promise<AlarmChanges> {
  return db.transaction().execute(async (trx) => {
    const changes: AlarmChanges = { opened: [], updated: [], resolved: [], tripped: null };
    const open = await trx
      .selectFrom('alarms')
      .selectAll()
      .where('status', '=', 'open')
      .forUpdate()
      .execute();
    const byKey = new Map(open.map((a) => [`${a.kind}\u0000${a.key}`, a]));
    const raised = new Set<string>();
    const now = new Date();
    for (const check of checks) {
      const severity = severityOf(check);
      if (!severity) continue;
      const id = `${check.kind}\u0000${check.key}`;
      raised.add(id);
      const values = {
        severity,
        value: check.value,
        warn_threshold: check.warn,
        alarm_threshold: check.alarm,
        message: check.message,
        details: JSON.stringify(check.details ?? {}),
        updated_at: now,
      };
      const existing = byKey.get(id);
      if (!existing) {
        const row = await trx
          .insertInto('alarms')
          .values({
            ...values,
            kind: check.kind,
            key: check.key,
            model_id: check.modelId ?? null,
            opened_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        changes.opened.push(row.id);
        await audit(trx, 'alarm.open', row.id, check.message, null, { severity, value: check.value });
        byKey.set(id, {
          ...(await trx.selectFrom('alarms').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()),
        });
        continue;
      }
      const escalated = existing.severity === 'warn' && severity === 'alarm';
      await trx
        .updateTable('alarms')
        .set({
          ...values,
          // Worse than what was acknowledged: it needs a new look.
          ...(escalated ? { acknowledged_at: null, acknowledged_by: null, acknowledge_reason: null } : {}),
        })
        .where('id', '=', existing.id)
        .execute();
      changes.updated.push(existing.id);
      if (existing.severity !== severity)
        await audit(
          trx,
          `alarm.${escalated ? 'escalate' : 'deescalate'}`,
          existing.id,
          check.message,
          { severity: existing.severity },
          { severity, value: check.value },
        );
    }
    for (const alarm of open) {
      if (!kinds.includes(alarm.kind) || raised.has(`${alarm.kind}\u0000${alarm.key}`)) continue;
      await trx
        .updateTable('alarms')
        .set({ status: 'resolved', resolved_at: now, updated_at: now })
        .where('id', '=', alarm.id)
        .execute();
      changes.resolved.push(alarm.id);
      await audit(
        trx,
        'alarm.resolve',
        alarm.id,
        `${alarm.message} - back under its threshold`,
        { status: 'open' },
        { status: 'resolved' },
      );
    }
    if (options.tripBreaker) changes.tripped = await tripIfNeeded(trx, now);
    return changes;
  });
}

/** The first open, unacknowledged alarm at alarm severity that has not tripped the breaker yet, trips it. */
async function tripIfNeeded(trx: Db, now: Date): Promise<string | null> {
  const pending = await trx
    .selectFrom('alarms')
    .select(['id', 'message'])
    .where('status', '=', 'open')
    .where('severity', '=', 'alarm')
    .where('acknowledged_at', 'is', null)
    .where('tripped_breaker_at', 'is', null)
    .orderBy('opened_at')
    .execute();
  if (pending.length === 0) return null;
  const first = pending[0]!;
  const breaker = await breakerState(trx);
  if (!breaker.open) {
    await setBreakerIn(trx, {
      open: true,
      reason: `alarm: ${first.message}${pending.length > 1 ? ` (and ${pending.length - 1} more)` : ''}`,
      by: MONITORING_ACTOR,
      trigger: 'alarm',
      alarmId: first.id,
    });
  }
  await trx
    .updateTable('alarms')
    .set({ tripped_breaker_at: now })
    .where(
      'id',
      'in',
      pending.map((p) => p.id),
    )
    .execute();
  return breaker.open ? null : first.id;
}

async function audit(
  trx: Db,
  action: string,
  alarmId: string,
  reason: string,
  before: unknown,
  after: unknown,
) {
  await appendAudit(trx, {
    actor: MONITORING_ACTOR.name,
    actorId: null,
    action,
    subjectType: 'alarm',
    subjectId: alarmId,
    reason,
    before,
    after,
  });
}

export async function listAlarms(
  db: Db,
  options: { status?: 'open' | 'resolved' | 'all'; limit?: number } = {},
) {
  let query = db
    .selectFrom('alarms')
    .selectAll()
    .orderBy('opened_at', 'desc')
    .limit(options.limit ?? 200);
  if (options.status && options.status !== 'all') query = query.where('status', '=', options.status);
  return query.execute();
}
