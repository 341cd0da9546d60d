// The knowledge graph: a projection of the canonical tables (accounts, contacts, opportunities, products, reps,
// territories, industries) into nodes and typed edges, plus the graph features computed from it. The canonical
// tables stay the source of truth; these tables can be rebuilt from them at any time (graph.sync).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table graph_nodes (
      id uuid primary key default gen_random_uuid(),
      type text not null
        check (type in ('account', 'contact', 'opportunity', 'product', 'rep', 'territory', 'industry')),
      -- The entity's id (uuid as text), or the industry's name: industries are values, not rows.
      ref_id text not null,
      label text not null,
      properties jsonb not null default '{}'::jsonb,
      updated_at timestamptz not null default now(),
      constraint graph_nodes_type_ref_key unique (type, ref_id)
    );

    create table graph_edges (
      id bigint generated always as identity primary key,
      type text not null check (type in ('works_at', 'parent_of', 'involved_in', 'owns', 'interested_in',
                                         'similar_to', 'in_territory', 'in_industry')),
      from_node uuid not null references graph_nodes(id) on delete cascade,
      to_node uuid not null references graph_nodes(id) on delete cascade,
      weight double precision not null default 1,
      properties jsonb not null default '{}'::jsonb,
      -- Since when the source rows say so, where they tell (a contact's link to an opportunity has no time).
      valid_from timestamptz,
      updated_at timestamptz not null default now(),
      constraint graph_edges_type_from_to_key unique (type, from_node, to_node)
    );
    -- Neighbourhood queries walk edges in both directions; the unique key above serves (type, from_node).
    create index graph_edges_from_idx on graph_edges (from_node);
    create index graph_edges_to_idx on graph_edges (to_node);

    -- The latest graph features per entity (graph.features). entity_id is the canonical entity's id; industries
    -- are values and get none. Training sets ask computeGraphFeatures for an earlier moment without storing.
    create table graph_features (
      entity_type text not null
        check (entity_type in ('account', 'contact', 'opportunity', 'product', 'rep', 'territory')),
      entity_id uuid not null,
      name text not null,
      value double precision not null,
      -- The moment the features describe: only facts known before it were used.
      as_of timestamptz not null,
      computed_at timestamptz not null default now(),
      version text not null,
      primary key (entity_type, entity_id, name)
    );
  `.execute(db);
}
