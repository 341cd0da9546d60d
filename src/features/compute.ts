// Point-in-time feature computation: for pairs (contact, as_of), every value as it was knowable at as_of.
// One set-based query per chunk of pairs, whatever the number of features.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { definition, FEATURE_DEFINITIONS, type FeatureDefinition, type FeatureSet } from './definitions.ts';

export type FeatureValue = number | string | null;
export type FeatureRow = Record<string, FeatureValue>;

export interface FeaturePair {
  contactId: string;
  asOf: Date;
}

export function computationHash(d: FeatureDefinition): string {
  return createHash('sha256')
    .update(`${d.kind}|${d.type}|${d.windowDays}|${d.sql}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Records every feature version and set this code knows. A definition whose computation changed without a new
 * version number is refused: the old version must stay reproducible.
 */
export async function registerFeatureDefinitions(db: Db): Promise<void> {
  const known = await db
    .selectFrom('feature_definitions')
    .select(['name', 'version', 'computation_hash'])
    .execute();
  const byKey = new Map(known.map((k) => [`${k.name}@${k.version}`, k.computation_hash]));
  for (const d of FEATURE_DEFINITIONS) {
    const hash = computationHash(d);
    const recorded = byKey.get(`${d.name}@${d.version}`);
    if (recorded && recorded !== hash) {
      throw new AppError(
        'conflict',
        `Feature ${d.name} version ${d.version} changed its computation; add it as version ${d.version + 1} and keep version ${d.version} unchanged`,
      );
    }
    if (!recorded) {
      await db
        .insertInto('feature_definitions')
        .values({
          name: d.name,
          version: d.version,
          entity: d.entity,
          description: d.description,
          window_days: d.windowDays,
          computation_hash: hash,
        })
        .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
        .execute();
    }
  }
  const { FEATURE_SETS } = await import('./definitions.ts');
  for (const set of FEATURE_SETS) {
    await db
      .insertInto('feature_sets')
      .values({
        name: set.name,
        version: set.version,
        features: set.features.map((f) => `${f.name}@${f.version}`),
      })
      .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
      .execute();
  }
}

const MAX_WINDOW_DAYS = 180;

export interface ComputeOptions {
  /**
   * Graph features: 'stored' reads the latest graph refresh (online scoring, seconds behind); 'point_in_time'
   * recomputes the graph as of each distinct moment (training; only outcomes closed before the moment count).
   */
  graph?: 'stored' | 'point_in_time';
  chunkSize?: number;
}

/** Values for each pair, in the order of `pairs`. */
export async function computeFeatures(
  db: Db,
  set: FeatureSet,
  pairs: FeaturePair[],
  options: ComputeOptions = {},
): Promise<FeatureRow[]> {
  const chunkSize = options.chunkSize ?? 2000;
  const definitions = set.features.map((f) => definition(f.name, f.version));
  const eventFeatures = definitions.filter((d) => d.kind === 'event');
  const scalarFeatures = definitions.filter((d) => d.kind === 'scalar');
  const graphFeatures = definitions.filter((d) => d.kind === 'graph');
  const out: FeatureRow[] = [];
  for (let start = 0; start < pairs.length; start += chunkSize) {
    const chunk = pairs.slice(start, start + chunkSize);
    const input = JSON.stringify(
      chunk.map((p, i) => ({ i, contact_id: p.contactId, as_of: p.asOf.toISOString() })),
    );
    // Feature SQL is code (definitions.ts), never user input; values travel as parameters.
    const aggregates = eventFeatures.map((d) => `${d.sql} as "${d.name}"`).join(',\n');
    const scalars = scalarFeatures.map((d) => `${d.sql} as "${d.name}"`).join(',\n');
    const query = sql<Record<string, unknown> & { i: number }>`
      with p as (
        select x.i, x.contact_id, x.as_of from jsonb_to_recordset(${input}::jsonb) as x(i int, contact_id uuid, as_of timestamptz)
      ),
      agg as (
        select p.i ${sql.raw(aggregates ? `, ${aggregates}` : '')}
        from p
        left join events e on e.contact_id = p.contact_id and e.occurred_at < p.as_of
                          and e.occurred_at >= p.as_of - interval '${sql.raw(String(MAX_WINDOW_DAYS))} days'
        group by p.i, p.as_of
      )
      select p.i, agg.* ${sql.raw(scalars ? `, ${scalars}` : '')}
      from p
      join agg on agg.i = p.i
      left join contacts c on c.id = p.contact_id
      left join accounts a on a.id = c.account_id
      order by p.i`;
    const result = await query.execute(db);
    for (const row of result.rows) {
      const values: FeatureRow = {};
      for (const d of definitions) {
        if (d.kind === 'graph') continue;
        const raw = row[d.name];
        values[d.name] =
          raw === null || raw === undefined ? null : d.type === 'number' ? Number(raw) : String(raw);
      }
      out.push(values);
    }
  }
  if (graphFeatures.length > 0)
    await addGraphFeatures(db, graphFeatures, pairs, out, options.graph ?? 'point_in_time');
  return out;
}

async function addGraphFeatures(
  db: Db,
  definitions: FeatureDefinition[],
  pairs: FeaturePair[],
  out: FeatureRow[],
  mode: 'stored' | 'point_in_time',
): Promise<void> {
  const names = definitions.map((d) => d.sql);
  const lookups = new Map<string, Map<string, number>>();
  if (mode === 'stored') {
    const ids = [...new Set(pairs.map((p) => p.contactId))];
    const rows = ids.length
      ? await db
          .selectFrom('graph_features')
          .select(['entity_id', 'name', 'value'])
          .where('entity_type', '=', 'contact')
          .where('entity_id', 'in', ids)
          .where('name', 'in', names)
          .execute()
      : [];
    for (const r of rows) {
      const key = `stored|${r.entity_id}`;
      if (!lookups.has(key)) lookups.set(key, new Map());
      lookups.get(key)!.set(r.name, r.value);
    }
  } else {
    const { computeGraphFeatures } = await import('../graph/graph-features.ts');
    for (const asOf of [...new Set(pairs.map((p) => p.asOf.getTime()))]) {
      const result = await computeGraphFeatures(db, { asOf: new Date(asOf), write: false });
      for (const f of result.features) {
        if (f.entityType !== 'contact' || !names.includes(f.name)) continue;
        const key = `${asOf}|${f.entityId}`;
        if (!lookups.has(key)) lookups.set(key, new Map());
        lookups.get(key)!.set(f.name, f.value);
      }
    }
  }
  pairs.forEach((pair, i) => {
    const found = lookups.get(
      mode === 'stored' ? `stored|${pair.contactId}` : `${pair.asOf.getTime()}|${pair.contactId}`,
    );
    for (const d of definitions) out[i]![d.name] = found?.get(d.sql) ?? null;
  });
}
