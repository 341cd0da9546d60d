// What the gate reads as "monitoring state": 'alarm' while the circuit breaker is open or any alarm at its
// alarm threshold is open and not acknowledged by a policy owner. So a drifted, miscalibrated or stale model is
// never used for automatic execution silently, even if the breaker was closed by hand in between.
import type { Db } from '../db/database.ts';

export interface MonitoringState {
  state: 'ok' | 'alarm';
  alarms: { id: string; kind: string; key: string; message: string }[];
}

export async function monitoringState(db: Db, breakerOpen: boolean): Promise<MonitoringState> {
  const alarms = await db
    .selectFrom('alarms')
    .select(['id', 'kind', 'key', 'message'])
    .where('status', '=', 'open')
    .where('severity', '=', 'alarm')
    .where('acknowledged_at', 'is', null)
    .orderBy('opened_at')
    .limit(20)
    .execute();
  return { state: breakerOpen || alarms.length > 0 ? 'alarm' : 'ok', alarms };
}
