// What the knowledge graph holds: node and edge types, and which way each edge points.
//
//   contact  -works_at->      account       (contacts.account_id)
//   account  -parent_of->     account       (the child's parent_id)
//   contact  -involved_in->   opportunity   (opportunity_contacts; properties.role)
//   account  -involved_in->   opportunity   (opportunities.account_id: the parties of a deal point at it)
//   rep      -owns->          account | contact | opportunity   (owner_id)
//   account  -interested_in-> product       (its opportunities' product; weight = number of opportunities)
//   opportunity -interested_in-> product    (the opportunity's product)
//   account  -in_industry->   industry      (industries are values: ref_id is the industry's name)
//   account | rep -in_territory-> territory (territory_id)
//   account  -similar_to->    account       (the 5 nearest by firmographics; weight = similarity in (0, 1])
//
// Merged accounts and contacts are not nodes: the merge moved their rows to the survivor, so their edges do too.
import { z } from 'zod';
import type { GraphEdgeType, GraphNodeType } from '../db/schema.ts';

export const GRAPH_NODE_TYPES = [
  'account',
  'contact',
  'opportunity',
  'product',
  'rep',
  'territory',
  'industry',
] as const satisfies readonly GraphNodeType[];

export const GRAPH_EDGE_TYPES = [
  'works_at',
  'parent_of',
  'involved_in',
  'owns',
  'interested_in',
  'similar_to',
  'in_territory',
  'in_industry',
] as const satisfies readonly GraphEdgeType[];

export const graphNodeTypeSchema = z.enum(GRAPH_NODE_TYPES);

/** Every node type but industry has a canonical row's uuid as its ref_id; industries are named values. */
export function isEntityNodeType(type: GraphNodeType): type is Exclude<GraphNodeType, 'industry'> {
  return type !== 'industry';
}

/** How many similar accounts each account points at. */
export const SIMILAR_ACCOUNTS = 5;
