// Keeping the graph current: graph.sync projects the canonical tables, then enqueues graph.features, so the
// features are always computed from a graph at least as new as the change that asked for them.
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { defineJob } from '../jobs/task-list.ts';
import { computeGraphFeatures } from './graph-features.ts';
import { syncGraph } from './sync-graph.ts';

export const GRAPH_SYNC_JOB = 'graph.sync';
export const GRAPH_FEATURES_JOB = 'graph.features';

/** How long a refresh waits, so a burst of ingested batches becomes one sync. */
export const GRAPH_REFRESH_DELAY_MS = 5000;

export const graphSyncPayloadSchema = z.object({
  /** Only entities updated since (ISO 8601). Default: a full sync, which writes only what changed. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Recompute the graph features afterwards. Default true. */
  features: z.boolean().default(true),
});

export const graphFeaturesPayloadSchema = z.object({
  /** Default: now. */
  asOf: z.iso.datetime({ offset: true }).optional(),
});

export const graphSyncJob = defineJob({
  id: GRAPH_SYNC_JOB,
  schema: graphSyncPayloadSchema,
  handler: async (payload, { db, logger }) => {
    const result = await syncGraph(db, payload.since ? { since: new Date(payload.since) } : {});
    logger.info(result, 'graph synced');
    if (payload.features) {
      await enqueueJob(db, GRAPH_FEATURES_JOB, {}, { jobKey: GRAPH_FEATURES_JOB });
    }
  },
});

export const graphFeaturesJob = defineJob({
  id: GRAPH_FEATURES_JOB,
  schema: graphFeaturesPayloadSchema,
  handler: async (payload, { db, logger }) => {
    const result = await computeGraphFeatures(db, payload.asOf ? { asOf: new Date(payload.asOf) } : {});
    const { features: _features, ...summary } = result;
    logger.info(summary, 'graph features computed');
  },
});

export const graphJobs = [graphSyncJob, graphFeaturesJob];

/**
 * Asks for a graph refresh (sync, then features) in the caller's transaction. Throttled by job key: while a
 * refresh is pending, more requests join it instead of adding jobs or pushing it later, so a steady stream of
 * ingestion still gets a refresh every few seconds.
 */
export async function enqueueGraphRefresh(db: Db, options: { delayMs?: number } = {}): Promise<void> {
  await enqueueJob(
    db,
    GRAPH_SYNC_JOB,
    {},
    {
      jobKey: GRAPH_SYNC_JOB,
      jobKeyMode: 'preserve_run_at',
      runAt: new Date(Date.now() + (options.delayMs ?? GRAPH_REFRESH_DELAY_MS)),
    },
  );
}
