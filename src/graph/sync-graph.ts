// Projects the canonical tables into graph_nodes and graph_edges. Set-based and idempotent: for every node type
// and every edge family, what the canonical rows say is staged by one INSERT ... SELECT into a keyed work table,
// then one INSERT ... ON CONFLICT DO UPDATE writes what differs and one DELETE removes what the rows no longer
// say. A second sync over unchanged data writes nothing. All in one transaction, one sync at a time.
//
// Incremental (`since`): only accounts, contacts and opportunities updated since then, widened to everything
// whose edges they can change (see buildScope). Products, reps, territories, industries, and the
// contact -> opportunity links (opportunity_contacts has no timestamp) are always projected in full; they are
// small. Rows are stamped with updated_at when written, not when committed, so pass the start of the previous
// sync minus a margin, never its end. Without `since` the sync reads everything but still writes only changes.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { GraphEdgeType, GraphNodeType } from '../db/schema.ts';
import { nearestSimilar, type Firmographics } from './similar-accounts.ts';

export interface SyncGraphOptions {
  /** Only entities updated at or after this moment (and what they touch). Default: everything. */
  since?: Date;
}

export interface SyncGraphResult {
  mode: 'full' | 'incremental';
  /** Incremental only: how many accounts, contacts and opportunities were recomputed. */
  scope?: { account: number; contact: number; opportunity: number; similar: number };
  nodesWritten: number;
  nodesDeleted: number;
  edgesWritten: number;
  edgesDeleted: number;
  /** Nodes and edges in the graph after the sync, by type. */
  nodes: Record<string, number>;
  edges: Record<string, number>;
  durationMs: number;
}

const STAGE_CHUNK = 10_000;

/** Any stable number: one sync at a time, so two workers never race on the same rows. */
const GRAPH_SYNC_LOCK = 4_711_042;

/** The time part of a field_times stamp ('2026-01-02T03:04:05.000Z#event-id'), for the field or its hint. */
function stampSql(alias: string, field: string): string {
  const value = `coalesce(${alias}.field_times->>'${field}', ${alias}.field_times->>'~${field}')`;
  return `case when ${value} ~ '^\\d{4}-\\d\\d-\\d\\dT' then split_part(${value}, '#', 1)::timestamptz end`;
}

interface NodeSource {
  type: GraphNodeType;
  /** Selects ref_id, label, properties of every live entity of the type. */
  select: string;
  /** Narrowed to the sync scope in incremental mode; otherwise always projected in full. */
  scoped: boolean;
}

const NODE_SOURCES: NodeSource[] = [
  {
    type: 'account',
    scoped: true,
    select: `
      select a.id::text as ref_id, a.name as label,
        jsonb_strip_nulls(jsonb_build_object(
          'domain', a.domain, 'industry', a.industry, 'size_band', a.size_band, 'employees', a.employees,
          'annual_revenue', a.annual_revenue::float8, 'region', a.region, 'country', a.country, 'tier', a.tier
        )) as properties
      from accounts a where a.merged_into_id is null`,
  },
  {
    type: 'contact',
    scoped: true,
    select: `
      select c.id::text as ref_id,
        coalesce(nullif(btrim(concat_ws(' ', c.first_name, c.last_name)), ''), c.email,
                 'Contact ' || left(c.id::text, 8)) as label,
        jsonb_strip_nulls(jsonb_build_object(
          'email', c.email, 'title', c.title, 'seniority', c.seniority, 'department', c.department,
          'lifecycle_stage', c.lifecycle_stage, 'country', c.country
        )) as properties
      from contacts c where c.merged_into_id is null`,
  },
  {
    type: 'opportunity',
    scoped: true,
    select: `
      select o.id::text as ref_id, o.name as label,
        jsonb_strip_nulls(jsonb_build_object(
          'stage', o.stage, 'status', o.status, 'amount', o.amount::float8, 'currency', o.currency,
          'opened_at', o.opened_at, 'closed_at', o.closed_at, 'expected_close_date', o.expected_close_date
        )) as properties
      from opportunities o`,
  },
  {
    type: 'product',
    scoped: false,
    select: `
      select p.id::text as ref_id, p.name as label,
        jsonb_strip_nulls(jsonb_build_object('sku', p.sku, 'family', p.family, 'list_price', p.list_price::float8))
          as properties
      from products p`,
  },
  {
    // Reps: people with the rep role, and anyone who owns a live account, contact or opportunity.
    type: 'rep',
    scoped: false,
    select: `
      select u.id::text as ref_id, u.name as label,
        jsonb_strip_nulls(jsonb_build_object('email', u.email, 'active', u.active, 'team_id', u.team_id))
          as properties
      from users u
      where 'rep' = any(u.roles)
         or u.id in (select owner_id from accounts where merged_into_id is null and owner_id is not null
                     union select owner_id from contacts where merged_into_id is null and owner_id is not null
                     union select owner_id from opportunities where owner_id is not null)`,
  },
  {
    type: 'territory',
    scoped: false,
    select: `
      select t.id::text as ref_id, t.name as label, jsonb_build_object('region', t.region) as properties
      from territories t`,
  },
  {
    type: 'industry',
    scoped: false,
    select: `
      select distinct btrim(a.industry) as ref_id, btrim(a.industry) as label, '{}'::jsonb as properties
      from accounts a where a.merged_into_id is null and nullif(btrim(a.industry), '') is not null`,
  },
];

interface EdgeFamily {
  type: GraphEdgeType;
  from: GraphNodeType;
  to: GraphNodeType;
  /** Selects from_ref, to_ref, weight, properties, valid_from; at most one row per (from_ref, to_ref). */
  select: string;
  /**
   * Which existing edges an incremental sync recomputes: 'either' those touching an entity in scope, 'full'
   * all of them, 'similar' those from accounts whose neighbours may have changed.
   */
  scope: 'either' | 'full' | 'similar';
}

const LIVE_ACCOUNT = (alias: string) => `coalesce(${alias}.merged_into_id, ${alias}.id)`;

const EDGE_FAMILIES: EdgeFamily[] = [
  {
    type: 'works_at',
    from: 'contact',
    to: 'account',
    scope: 'either',
    select: `
      select c.id::text as from_ref, ${LIVE_ACCOUNT('a')}::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, ${stampSql('c', 'account_id')} as valid_from
      from contacts c join accounts a on a.id = c.account_id
      where c.merged_into_id is null`,
  },
  {
    type: 'parent_of',
    from: 'account',
    to: 'account',
    scope: 'either',
    select: `
      select ${LIVE_ACCOUNT('p')}::text as from_ref, a.id::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, ${stampSql('a', 'parent_id')} as valid_from
      from accounts a join accounts p on p.id = a.parent_id
      where a.merged_into_id is null and ${LIVE_ACCOUNT('p')} <> a.id`,
  },
  {
    type: 'involved_in',
    from: 'contact',
    to: 'opportunity',
    scope: 'full',
    select: `
      select distinct on (1, 2) coalesce(c.merged_into_id, c.id)::text as from_ref, o.id::text as to_ref,
        1::float8 as weight, jsonb_strip_nulls(jsonb_build_object('role', oc.role)) as properties,
        o.opened_at as valid_from
      from opportunity_contacts oc
        join contacts c on c.id = oc.contact_id
        join opportunities o on o.id = oc.opportunity_id
      order by 1, 2, (c.merged_into_id is null) desc, oc.role`,
  },
  {
    type: 'involved_in',
    from: 'account',
    to: 'opportunity',
    scope: 'either',
    select: `
      select ${LIVE_ACCOUNT('a')}::text as from_ref, o.id::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, o.opened_at as valid_from
      from opportunities o join accounts a on a.id = o.account_id`,
  },
  ...(['account', 'contact', 'opportunity'] as const).map((to): EdgeFamily => ({
    type: 'owns',
    from: 'rep',
    to,
    scope: 'either',
    select: `
        select x.owner_id::text as from_ref, x.id::text as to_ref, 1::float8 as weight,
          '{}'::jsonb as properties, ${stampSql('x', 'owner_id')} as valid_from
        from ${to === 'opportunity' ? 'opportunities' : `${to}s`} x
        where x.owner_id is not null ${to === 'opportunity' ? '' : 'and x.merged_into_id is null'}`,
  })),
  {
    type: 'interested_in',
    from: 'account',
    to: 'product',
    scope: 'either',
    select: `
      select ${LIVE_ACCOUNT('a')}::text as from_ref, o.product_id::text as to_ref, count(*)::float8 as weight,
        jsonb_build_object(
          'opportunities', count(*), 'won', count(*) filter (where o.status = 'won'),
          'lost', count(*) filter (where o.status = 'lost'), 'open', count(*) filter (where o.status = 'open')
        ) as properties,
        min(o.opened_at) as valid_from
      from opportunities o join accounts a on a.id = o.account_id
      where o.product_id is not null
      group by 1, 2`,
  },
  {
    type: 'interested_in',
    from: 'opportunity',
    to: 'product',
    scope: 'either',
    select: `
      select o.id::text as from_ref, o.product_id::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, o.opened_at as valid_from
      from opportunities o where o.product_id is not null`,
  },
  {
    type: 'in_industry',
    from: 'account',
    to: 'industry',
    scope: 'either',
    select: `
      select a.id::text as from_ref, btrim(a.industry) as to_ref, 1::float8 as weight, '{}'::jsonb as properties,
        ${stampSql('a', 'industry')} as valid_from
      from accounts a where a.merged_into_id is null and nullif(btrim(a.industry), '') is not null`,
  },
  {
    type: 'in_territory',
    from: 'account',
    to: 'territory',
    scope: 'either',
    select: `
      select a.id::text as from_ref, a.territory_id::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, ${stampSql('a', 'territory_id')} as valid_from
      from accounts a where a.merged_into_id is null and a.territory_id is not null`,
  },
  {
    type: 'in_territory',
    from: 'rep',
    to: 'territory',
    scope: 'full',
    select: `
      select u.id::text as from_ref, u.territory_id::text as to_ref, 1::float8 as weight,
        '{}'::jsonb as properties, null::timestamptz as valid_from
      from users u where u.territory_id is not null`,
  },
  {
    // Computed in memory by nearestSimilar and staged by stageSimilarPairs (see similar-accounts.ts).
    type: 'similar_to',
    from: 'account',
    to: 'account',
    scope: 'similar',
    select: `
      select from_id::text as from_ref, to_id::text as to_ref, similarity as weight,
        jsonb_build_object('rank', rank) as properties, null::timestamptz as valid_from
      from graph_sync_similar_pairs`,
  },
];

/** Projects the canonical tables into the graph, in one transaction. */
export async function syncGraph(db: Db, options: SyncGraphOptions = {}): Promise<SyncGraphResult> {
  const started = performance.now();
  const incremental = options.since !== undefined;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${GRAPH_SYNC_LOCK})`.execute(trx);
    const scope = options.since ? await buildScope(trx, options.since) : undefined;
    await createWorkTables(trx);
    const result = { nodesWritten: 0, nodesDeleted: 0, edgesWritten: 0, edgesDeleted: 0 };
    for (const source of NODE_SOURCES) {
      const counts = await syncNodes(trx, source, incremental && source.scoped);
      result.nodesWritten += counts.written;
      result.nodesDeleted += counts.deleted;
    }
    await stageSimilarPairs(trx, incremental);
    for (const family of EDGE_FAMILIES) {
      const counts = await syncEdges(trx, family, incremental);
      result.edgesWritten += counts.written;
      result.edgesDeleted += counts.deleted;
    }
    const [nodes, edges] = await Promise.all([
      countByType(trx, 'graph_nodes'),
      countByType(trx, 'graph_edges'),
    ]);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    await analyzeIfChanged(
      trx,
      {
        nodes: result.nodesWritten + result.nodesDeleted,
        edges: result.edgesWritten + result.edgesDeleted,
      },
      { nodes: sum(nodes), edges: sum(edges) },
    );
    return {
      mode: incremental ? 'incremental' : 'full',
      ...(scope ? { scope } : {}),
      ...result,
      nodes,
      edges,
      durationMs: Math.round(performance.now() - started),
    };
  });
}

/**
 * The entities an incremental sync recomputes, worked out from the graph as it was before this sync:
 * - accounts, contacts and opportunities updated since (a merge stamps both the merged row and the survivor);
 * - the accounts of those opportunities, now and in the graph (their product interest counts change);
 * - for similar_to, every account in an industry any scoped account is in, now or in the graph.
 */
async function buildScope(trx: Db, since: Date): Promise<NonNullable<SyncGraphResult['scope']>> {
  await sql`
    create temp table graph_sync_scope (type text not null, id uuid not null, primary key (type, id))
      on commit drop;
    create temp table graph_sync_similar (id uuid primary key) on commit drop;
  `.execute(trx);
  await sql`
    insert into graph_sync_scope (type, id)
    select 'account', id from accounts where updated_at >= ${since}
    union select 'contact', id from contacts where updated_at >= ${since}
    union select 'opportunity', id from opportunities where updated_at >= ${since}`.execute(trx);
  await sql`
    insert into graph_sync_scope (type, id)
    select 'account', o.account_id
    from opportunities o join graph_sync_scope s on s.type = 'opportunity' and s.id = o.id
    where o.account_id is not null
    union
    select 'account', f.ref_id::uuid
    from graph_sync_scope s
      join graph_nodes t on t.type = 'opportunity' and t.ref_id = s.id::text
      join graph_edges e on e.to_node = t.id and e.type = 'involved_in'
      join graph_nodes f on f.id = e.from_node and f.type = 'account'
    where s.type = 'opportunity'
    on conflict do nothing`.execute(trx);
  await sql`
    insert into graph_sync_similar (id)
    select a.id from accounts a
    where a.merged_into_id is null and btrim(a.industry) in (
      select btrim(x.industry) from accounts x join graph_sync_scope s on s.type = 'account' and s.id = x.id
      where x.industry is not null
      union
      select i.ref_id
      from graph_sync_scope s
        join graph_nodes f on f.type = 'account' and f.ref_id = s.id::text
        join graph_edges e on e.from_node = f.id and e.type = 'in_industry'
        join graph_nodes i on i.id = e.to_node
      where s.type = 'account')
    union select id from graph_sync_scope where type = 'account'
    on conflict do nothing`.execute(trx);
  const counts = await sql<{ type: string; n: string }>`
    select type, count(*) as n from graph_sync_scope group by type
    union all select 'similar', count(*) from graph_sync_similar`.execute(trx);
  const of = (type: string) => Number(counts.rows.find((r) => r.type === type)?.n ?? 0);
  return {
    account: of('account'),
    contact: of('contact'),
    opportunity: of('opportunity'),
    similar: of('similar'),
  };
}

function inScope(type: GraphNodeType, refColumn: string): RawBuilder<unknown> {
  if (type !== 'account' && type !== 'contact' && type !== 'opportunity') return sql`false`;
  return sql.raw(`${refColumn} in (select id::text from graph_sync_scope where type = '${type}')`);
}

/**
 * What the canonical rows say goes to a temporary table first, keyed and analysed: the comparison with the stored
 * graph is then an index probe per row, whatever the (often stale) statistics of freshly loaded tables suggest.
 */
async function createWorkTables(trx: Db): Promise<void> {
  await sql`
    create temp table graph_sync_nodes (ref_id text primary key, label text not null, properties jsonb not null)
      on commit drop;
    create temp table graph_sync_edges (
      from_node uuid not null,
      to_node uuid not null,
      weight double precision not null,
      properties jsonb not null,
      valid_from timestamptz,
      primary key (from_node, to_node)
    ) on commit drop;
  `.execute(trx);
}

async function syncNodes(
  trx: Db,
  source: NodeSource,
  scoped: boolean,
): Promise<{ written: number; deleted: number }> {
  const filter = scoped ? inScope(source.type, 's.ref_id') : sql`true`;
  const nodeFilter = scoped ? inScope(source.type, 'n.ref_id') : sql`true`;
  await sql`delete from graph_sync_nodes`.execute(trx);
  await sql`
    insert into graph_sync_nodes (ref_id, label, properties)
    select s.ref_id, s.label, s.properties from (${sql.raw(source.select)}) s where ${filter}`.execute(trx);
  await sql`analyze graph_sync_nodes`.execute(trx);
  const written = await sql`
    insert into graph_nodes (type, ref_id, label, properties)
    select ${source.type}, ref_id, label, properties from graph_sync_nodes
    on conflict (type, ref_id) do update
      set label = excluded.label, properties = excluded.properties, updated_at = now()
      where graph_nodes.label is distinct from excluded.label
         or graph_nodes.properties is distinct from excluded.properties`.execute(trx);
  // In scope but no longer live (merged, deleted): the node goes, and its edges with it (on delete cascade).
  const deleted = await sql`
    delete from graph_nodes n
    where n.type = ${source.type} and ${nodeFilter}
      and not exists (select 1 from graph_sync_nodes s where s.ref_id = n.ref_id)`.execute(trx);
  return { written: Number(written.numAffectedRows ?? 0), deleted: Number(deleted.numAffectedRows ?? 0) };
}

async function syncEdges(
  trx: Db,
  family: EdgeFamily,
  incremental: boolean,
): Promise<{ written: number; deleted: number }> {
  let desiredFilter: RawBuilder<unknown> = sql`true`;
  let existingFilter: RawBuilder<unknown> = sql`true`;
  if (incremental && family.scope === 'either') {
    desiredFilter = sql`(${inScope(family.from, 's.from_ref')} or ${inScope(family.to, 's.to_ref')})`;
    existingFilter = sql`(${inScope(family.from, 'f.ref_id')} or ${inScope(family.to, 't.ref_id')})`;
  } else if (incremental && family.scope === 'similar') {
    desiredFilter = sql`s.from_ref in (select id::text from graph_sync_similar)`;
    existingFilter = sql`f.ref_id in (select id::text from graph_sync_similar)`;
  }
  await sql`delete from graph_sync_edges`.execute(trx);
  await sql`
    insert into graph_sync_edges (from_node, to_node, weight, properties, valid_from)
    select f.id, t.id, s.weight, s.properties, s.valid_from
    from (${sql.raw(family.select)}) s
      join graph_nodes f on f.type = ${family.from} and f.ref_id = s.from_ref
      join graph_nodes t on t.type = ${family.to} and t.ref_id = s.to_ref
    where ${desiredFilter}`.execute(trx);
  await sql`analyze graph_sync_edges`.execute(trx);
  const written = await sql`
    insert into graph_edges (type, from_node, to_node, weight, properties, valid_from)
    select ${family.type}, from_node, to_node, weight, properties, valid_from from graph_sync_edges
    on conflict (type, from_node, to_node) do update
      set weight = excluded.weight, properties = excluded.properties, valid_from = excluded.valid_from,
          updated_at = now()
      where (graph_edges.weight, graph_edges.properties, graph_edges.valid_from)
            is distinct from (excluded.weight, excluded.properties, excluded.valid_from)`.execute(trx);
  const deleted = await sql`
    delete from graph_edges e
    using graph_nodes f, graph_nodes t
    where e.type = ${family.type} and f.id = e.from_node and f.type = ${family.from}
      and t.id = e.to_node and t.type = ${family.to} and ${existingFilter}
      and not exists (
        select 1 from graph_sync_edges d where d.from_node = e.from_node and d.to_node = e.to_node)`.execute(
    trx,
  );
  return { written: Number(written.numAffectedRows ?? 0), deleted: Number(deleted.numAffectedRows ?? 0) };
}

/** The similar_to pairs of every account (incremental: of the accounts whose neighbours may have changed). */
async function stageSimilarPairs(trx: Db, incremental: boolean): Promise<void> {
  await sql`
    create temp table graph_sync_similar_pairs (
      from_id uuid not null,
      to_id uuid not null,
      similarity double precision not null,
      rank integer not null,
      primary key (from_id, to_id)
    ) on commit drop`.execute(trx);
  const accounts = await sql<Firmographics>`
    select id, btrim(industry) as industry, size_band as "sizeBand", region, employees,
      annual_revenue::float8 as revenue
    from accounts where merged_into_id is null and nullif(btrim(industry), '') is not null`.execute(trx);
  const only = incremental
    ? new Set(
        (await sql<{ id: string }>`select id from graph_sync_similar`.execute(trx)).rows.map((r) => r.id),
      )
    : undefined;
  const pairs = nearestSimilar(accounts.rows, only ? { only } : {});
  for (let start = 0; start < pairs.length; start += STAGE_CHUNK) {
    const chunk = pairs.slice(start, start + STAGE_CHUNK);
    await sql`
      insert into graph_sync_similar_pairs (from_id, to_id, similarity, rank)
      select * from unnest(${chunk.map((p) => p.from)}::uuid[], ${chunk.map((p) => p.to)}::uuid[],
                           ${chunk.map((p) => p.similarity)}::float8[], ${chunk.map((p) => p.rank)}::int[])`.execute(
      trx,
    );
  }
}

/** Fresh statistics after a big change, so neighbourhood queries and the next sync plan well at once. */
async function analyzeIfChanged(
  trx: Db,
  changed: { nodes: number; edges: number },
  totals: { nodes: number; edges: number },
): Promise<void> {
  if (changed.nodes > 1000 || changed.nodes > totals.nodes / 10) await sql`analyze graph_nodes`.execute(trx);
  if (changed.edges > 1000 || changed.edges > totals.edges / 10) await sql`analyze graph_edges`.execute(trx);
}

async function countByType(trx: Db, table: 'graph_nodes' | 'graph_edges'): Promise<Record<string, number>> {
  const rows = await trx
    .selectFrom(table)
    .select(['type', (eb) => eb.fn.countAll<string>().as('count')])
    .groupBy('type')
    .orderBy('type')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.count)]));
}
