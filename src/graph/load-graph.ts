// Reads the stored graph into graphology, as it stood at a moment: edges that began at or after `asOf` are left
// out (valid_from comes from the business time of the fact: field stamps, opened_at). Edges without a start
// time (similar_to, rep territories) are always in. Node properties are loaded only where features need them.
import { MultiDirectedGraph } from 'graphology';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { GraphEdgeType, GraphNodeType } from '../db/schema.ts';

export interface KnowledgeNode {
  type: GraphNodeType;
  /** The canonical entity's id (or the industry's name). */
  ref: string;
  /** Contacts and opportunities only. */
  properties?: Record<string, unknown>;
}

export interface KnowledgeEdge {
  type: GraphEdgeType;
  weight: number;
}

export type KnowledgeGraph = MultiDirectedGraph<KnowledgeNode, KnowledgeEdge>;

/** Both reads in one repeatable-read snapshot, so no edge refers to a node a concurrent sync just removed. */
export async function loadKnowledgeGraph(db: Db, asOf: Date): Promise<KnowledgeGraph> {
  const { nodes, edges } = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const nodeRows = await sql<{
        id: string;
        type: GraphNodeType;
        ref_id: string;
        properties: Record<string, unknown> | null;
      }>`
        select id, type, ref_id,
          case when type in ('contact', 'opportunity') then properties end as properties
        from graph_nodes`.execute(trx);
      const edgeRows = await sql<{
        id: string;
        type: GraphEdgeType;
        from_node: string;
        to_node: string;
        weight: number;
      }>`
        select id, type, from_node, to_node, weight from graph_edges
        where valid_from is null or valid_from < ${asOf}`.execute(trx);
      return { nodes: nodeRows.rows, edges: edgeRows.rows };
    });
  const graph: KnowledgeGraph = new MultiDirectedGraph<KnowledgeNode, KnowledgeEdge>();
  for (const node of nodes) {
    graph.addNode(node.id, {
      type: node.type,
      ref: node.ref_id,
      ...(node.properties ? { properties: node.properties } : {}),
    });
  }
  for (const edge of edges) {
    graph.addEdgeWithKey(edge.id, edge.from_node, edge.to_node, { type: edge.type, weight: edge.weight });
  }
  return graph;
}
