// The neighbourhood of one node: breadth-first over edges in both directions, one query per level. The node
// limit keeps hubs (an industry, a busy rep) from returning the whole graph: within a level the more strongly
// connected nodes come first, and `truncated` says something was left out.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { GraphEdgeType, GraphNodeType } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { isEntityNodeType } from './graph-model.ts';

export const MAX_NEIGHBOURHOOD_DEPTH = 3;
export const MAX_NEIGHBOURHOOD_NODES = 1000;

export interface NeighbourhoodNode {
  id: string;
  type: GraphNodeType;
  ref_id: string;
  label: string;
  properties: Record<string, unknown>;
  /** Hops from the root. */
  depth: number;
}

export interface NeighbourhoodEdge {
  type: GraphEdgeType;
  from: string;
  to: string;
  weight: number;
}

export interface Neighbourhood {
  root: NeighbourhoodNode;
  nodes: NeighbourhoodNode[];
  edges: NeighbourhoodEdge[];
  truncated: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getNeighbourhood(
  db: Db,
  query: { type: GraphNodeType; id: string; depth: number; limit: number },
): Promise<Neighbourhood> {
  const root = await findRoot(db, query.type, query.id);
  const visited = new Map<string, NeighbourhoodNode>([[root.id, root]]);
  let frontier = [root.id];
  let truncated = false;
  for (let depth = 1; depth <= query.depth && frontier.length > 0 && !truncated; depth++) {
    const room = query.limit - visited.size;
    const rows = await sql<Omit<NeighbourhoodNode, 'depth'>>`
      select n.id, n.type, n.ref_id, n.label, n.properties
      from graph_edges e
        join graph_nodes n
          on n.id = case when e.from_node = any(${frontier}::uuid[]) then e.to_node else e.from_node end
      where (e.from_node = any(${frontier}::uuid[]) or e.to_node = any(${frontier}::uuid[]))
        and not (n.id = any(${[...visited.keys()]}::uuid[]))
      group by n.id
      order by max(e.weight) desc, n.type, n.label, n.id
      limit ${room + 1}`.execute(db);
    if (rows.rows.length > room) truncated = true;
    const next = rows.rows.slice(0, room);
    for (const row of next) visited.set(row.id, { ...row, depth });
    frontier = next.map((row) => row.id);
  }
  const ids = [...visited.keys()];
  const edges = await db
    .selectFrom('graph_edges')
    .select(['type', 'from_node as from', 'to_node as to', 'weight'])
    .where(sql<boolean>`from_node = any(${ids}::uuid[]) and to_node = any(${ids}::uuid[])`)
    .orderBy('id')
    .execute();
  return { root, nodes: [...visited.values()], edges, truncated };
}

/** A merged account or contact is followed to its survivor, like everywhere else in the API. */
async function findRoot(db: Db, type: GraphNodeType, id: string): Promise<NeighbourhoodNode> {
  let refId = id;
  if (isEntityNodeType(type)) {
    if (!UUID.test(id)) {
      throw new AppError(
        'validation_failed',
        `Invalid request: params.id: a ${type} id is a uuid, got "${id}"`,
        {
          fields: [{ field: 'params.id', message: `a ${type} id is a uuid` }],
        },
      );
    }
    refId = id.toLowerCase();
    if (type === 'account' || type === 'contact') {
      const row = await db
        .selectFrom(type === 'account' ? 'accounts' : 'contacts')
        .select('merged_into_id')
        .where('id', '=', refId)
        .executeTakeFirst();
      refId = row?.merged_into_id ?? refId;
    }
  }
  const node = await db
    .selectFrom('graph_nodes')
    .select(['id', 'type', 'ref_id', 'label', 'properties'])
    .where('type', '=', type)
    .where('ref_id', '=', refId)
    .executeTakeFirst();
  if (!node) {
    throw new AppError(
      'not_found',
      `No ${type} ${id} in the graph; if it was created in the last few seconds, the graph sync has not run yet`,
    );
  }
  return { ...node, depth: 0 };
}
