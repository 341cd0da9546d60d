// Seconds after new events: features of the contacts they touched are recomputed and the contacts rescored.
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { defineJob } from '../jobs/task-list.ts';
import { scoreContacts } from '../models/score-contacts.ts';
import { takeDirtyContacts } from './materialize.ts';
import { enqueueGraphRefresh } from '../graph/graph.jobs.ts';
import { enqueueAgentRun } from '../agents/agents.jobs.ts';

const BATCH = 500;

/**
 * Ingestion wakes the refresh when it commits (at most one run a second, see wakeFeatureRefresh); this minute
 * cron is the safety net for contacts marked by a process that stopped between its commit and its wake-up.
 */
export const FEATURES_REFRESH_CRON: CronItem = {
  task: 'features.refresh',
  match: '* * * * *',
  identifier: 'features-refresh-sweep',
  options: { backfillPeriod: 0 },
  payload: {},
};

export const refreshFeaturesJob = defineJob({
  id: 'features.refresh',
  schema: z.object({}).passthrough(),
  async handler(_payload, { db, logger }) {
    let total = 0;
    for (;;) {
      // Taking the contacts and writing their scores is one transaction: a failure leaves them marked.
      const done = await db.transaction().execute(async (trx) => {
        const dirty = await takeDirtyContacts(trx, BATCH);
        if (dirty.length === 0) return 0;
        await scoreContacts(
          trx,
          dirty.map((d) => d.contactId),
        );
        // The agents look again at the rescored contacts once the new scores commit with this transaction.
        await enqueueAgentRun(
          trx,
          dirty.map((d) => d.contactId),
        );
        const oldest = Math.min(...dirty.map((d) => d.markedAt.getTime()));
        logger.debug(
          { contacts: dirty.length, lagMs: Date.now() - oldest },
          'features refreshed and contacts rescored',
        );
        return dirty.length;
      });
      total += done;
      if (done < BATCH) break;
    }
    if (total > 0) {
      logger.info({ contacts: total }, 'rescored contacts after new events');
      // The knowledge graph follows the entities; its refresh is throttled to one run every few seconds.
      await enqueueGraphRefresh(db);
    }
  },
});

export const featureJobs = [refreshFeaturesJob];
