// The per-connector circuit breaker (connector_state). After `threshold` consecutive retryable failures the
// connector is open for a cool-down that grows with every further failure; while open, its deliveries wait
// (they are not attempted, so they use up no attempts). When the cool-down is over one delivery goes through as
// a probe (the others keep waiting); its success closes the breaker, its failure opens it for longer.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { breakerCooldownMs } from './backoff.ts';

export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
}

export async function recordConnectorSuccess(trx: Db, connector: string): Promise<void> {
  await trx
    .insertInto('connector_state')
    .values({ connector, consecutive_failures: 0, open_until: null, updated_at: sql`now()` })
    .onConflict((oc) =>
      oc
        .column('connector')
        .doUpdateSet({ consecutive_failures: 0, open_until: null, updated_at: sql`now()` }),
    )
    .execute();
}

export async function recordConnectorFailure(
  trx: Db,
  connector: string,
  options: BreakerOptions,
): Promise<{ consecutive_failures: number; open_until: Date | null }> {
  const row = await trx
    .insertInto('connector_state')
    .values({ connector, consecutive_failures: 1, updated_at: sql`now()` })
    .onConflict((oc) =>
      oc.column('connector').doUpdateSet({
        consecutive_failures: sql`connector_state.consecutive_failures + 1`,
        updated_at: sql`now()`,
      }),
    )
    .returning('consecutive_failures')
    .executeTakeFirstOrThrow();
  const cooldown = breakerCooldownMs(row.consecutive_failures, options);
  const updated = await trx
    .updateTable('connector_state')
    .set({
      open_until: cooldown === null ? null : sql<Date>`now() + make_interval(secs => ${cooldown / 1000})`,
    })
    .where('connector', '=', connector)
    .returning(['consecutive_failures', 'open_until'])
    .executeTakeFirstOrThrow();
  return updated;
}

/**
 * For a claim: is this connector closed, or half-open with the probe now ours? Locks the connector's row, so
 * two workers cannot both take the probe; the probe holds the breaker open for its lease.
 */
export async function admitThroughBreaker(
  trx: Db,
  connector: string,
  options: BreakerOptions & { leaseMs: number },
): Promise<{ admitted: boolean; probe: boolean }> {
  const state = await trx
    .selectFrom('connector_state')
    .select(['consecutive_failures', sql<boolean>`coalesce(open_until > now(), false)`.as('open')])
    .where('connector', '=', connector)
    .forUpdate()
    .executeTakeFirst();
  if (!state || state.consecutive_failures < options.threshold) return { admitted: true, probe: false };
  if (state.open) return { admitted: false, probe: false };
  await trx
    .updateTable('connector_state')
    .set({
      open_until: sql`now() + make_interval(secs => ${options.leaseMs / 1000})`,
      updated_at: sql`now()`,
    })
    .where('connector', '=', connector)
    .execute();
  return { admitted: true, probe: true };
}

export async function listConnectorStates(db: Db) {
  return db
    .selectFrom('connector_state')
    .select([
      'connector',
      'consecutive_failures',
      'open_until',
      'updated_at',
      sql<boolean>`coalesce(open_until > now(), false)`.as('open'),
    ])
    .orderBy('connector')
    .execute();
}
