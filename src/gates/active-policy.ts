// The policy in force and the circuit breaker, as the gate reads them.
import type { Db } from '../db/database.ts';
import { parsePolicy, type PolicyDocument } from './policy.ts';

export interface ActivePolicy {
  version: number;
  document: PolicyDocument;
}

export async function activePolicy(db: Db): Promise<ActivePolicy | null> {
  const row = await db
    .selectFrom('policies')
    .select(['version', 'document'])
    .where('status', '=', 'active')
    .executeTakeFirst();
  return row ? { version: row.version, document: parsePolicy(row.document) } : null;
}

export async function breakerState(db: Db): Promise<{
  open: boolean;
  reason: string | null;
  changed_by: string | null;
  changed_at: Date | null;
  trigger: string | null;
  alarm_id: string | null;
}> {
  const row = await db
    .selectFrom('circuit_breaker')
    .select(['open', 'reason', 'changed_by', 'changed_at', 'trigger', 'alarm_id'])
    .where('id', '=', 1)
    .executeTakeFirst();
  // No row means the table was tampered with: fail closed.
  return (
    row ?? {
      open: true,
      reason: 'circuit breaker state missing',
      changed_by: null,
      changed_at: null,
      trigger: null,
      alarm_id: null,
    }
  );
}
