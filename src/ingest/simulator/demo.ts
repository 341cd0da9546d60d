// `npm start` on an empty database: a small simulated company so the console has something to show.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Logger } from '../../logger.ts';
import type { SimulationParamsInput } from './params.ts';
import { inProcessSink, runSimulation, type SimulationRunResult } from './run.ts';

/** A year, so seasonality, closed deals and the planted bottleneck all show; about 10,000 events, a few seconds. */
export const DEMO_SIMULATION: Omit<SimulationParamsInput, 'now'> = {
  seed: 7,
  accounts: 100,
  months: 12,
  source: 'demo-simulator',
};

/** Any stable number; only processes seeding the demo take this advisory lock. */
const DEMO_LOCK_KEY = 4_711_007;

/**
 * Fills the database with the demo company if it has no accounts and no events; otherwise does nothing.
 * Two processes starting at once do not both seed: the second waits for the first and then finds data.
 */
export async function seedDemoDataIfEmpty(options: {
  db: Db;
  logger: Logger;
  now: Date;
}): Promise<SimulationRunResult | null> {
  const { db, logger, now } = options;
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${DEMO_LOCK_KEY})`.execute(connection);
    try {
      if (!(await isEmpty(connection))) return null;
      logger.info({ ...DEMO_SIMULATION }, 'empty database: adding a simulated demo company');
      // Everything on the connection holding the lock, so even a pool of one connection cannot deadlock.
      const result = await runSimulation({
        db: connection,
        params: { ...DEMO_SIMULATION, now },
        sink: inProcessSink(connection, { description: 'demo data (simulated)' }),
      });
      const summary = result.groundTruth.summary;
      logger.info(
        {
          runId: result.runId,
          accounts: summary.accounts,
          contacts: summary.contacts,
          opportunities: summary.opportunities,
          won: summary.won,
          events: result.sent,
          accepted: result.accepted,
          quarantined: result.quarantined,
          durationMs: result.durationMs,
        },
        'demo data added (simulated; see simulation_runs for its ground truth)',
      );
      if (result.quarantined > 0) {
        logger.warn({ problems: result.problems }, 'some simulated demo events were quarantined');
      }
      return result;
    } finally {
      await sql`select pg_advisory_unlock(${DEMO_LOCK_KEY})`.execute(connection);
    }
  });
}

async function isEmpty(db: Db): Promise<boolean> {
  const row = await sql<{ empty: boolean }>`
    select not exists (select 1 from accounts) and not exists (select 1 from events) as empty
  `.execute(db);
  return row.rows[0]?.empty ?? false;
}
