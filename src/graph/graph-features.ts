// Computes the graph features (graph-feature-math) from the stored graph and replaces graph_features with them.
// Training asks for another moment with { asOf, write: false } and gets the values back without touching what
// is served online.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { deriveGraphFeatures, type GraphFeature } from './graph-feature-math.ts';
import { loadKnowledgeGraph } from './load-graph.ts';

export const GRAPH_FEATURES_VERSION = 'graph-v1';

export interface ComputeGraphFeaturesOptions {
  /** Only facts from before this moment count. Default: now. */
  asOf?: Date;
  /** Replace the stored features with these. Default true; training passes false. */
  write?: boolean;
}

export interface ComputeGraphFeaturesResult {
  asOf: Date;
  version: string;
  features: GraphFeature[];
  /** Entities with features, by type. */
  entities: Record<'account' | 'contact' | 'opportunity', number>;
  written: number;
  loadMs: number;
  computeMs: number;
  writeMs: number;
}

const INSERT_CHUNK = 5000;

export async function computeGraphFeatures(
  db: Db,
  options: ComputeGraphFeaturesOptions = {},
): Promise<ComputeGraphFeaturesResult> {
  const asOf = options.asOf ?? new Date();
  const t0 = performance.now();
  const graph = await loadKnowledgeGraph(db, asOf);
  const t1 = performance.now();
  const features = deriveGraphFeatures(graph, asOf);
  const t2 = performance.now();
  const written = options.write === false ? 0 : await replaceStoredFeatures(db, features, asOf);
  const t3 = performance.now();
  const entities = { account: new Set<string>(), contact: new Set<string>(), opportunity: new Set<string>() };
  for (const feature of features) entities[feature.entityType].add(feature.entityId);
  return {
    asOf,
    version: GRAPH_FEATURES_VERSION,
    features,
    entities: {
      account: entities.account.size,
      contact: entities.contact.size,
      opportunity: entities.opportunity.size,
    },
    written,
    loadMs: Math.round(t1 - t0),
    computeMs: Math.round(t2 - t1),
    writeMs: Math.round(t3 - t2),
  };
}

/** One transaction: readers see the old set or the new one, never a mix; entities gone from the graph lose theirs. */
async function replaceStoredFeatures(db: Db, features: GraphFeature[], asOf: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('graph_features').execute();
    for (let start = 0; start < features.length; start += INSERT_CHUNK) {
      const chunk = features.slice(start, start + INSERT_CHUNK);
      await sql`
        insert into graph_features (entity_type, entity_id, name, value, as_of, computed_at, version)
        select entity_type, entity_id, name, value, ${asOf}, now(), ${GRAPH_FEATURES_VERSION}
        from unnest(${chunk.map((f) => f.entityType)}::text[], ${chunk.map((f) => f.entityId)}::uuid[],
                    ${chunk.map((f) => f.name)}::text[], ${chunk.map((f) => f.value)}::float8[])
          as f(entity_type, entity_id, name, value)`.execute(trx);
    }
    return features.length;
  });
}
