import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { getGraphFeatures } from '../../graph/get-graph-features.ts';
import {
  getNeighbourhood,
  MAX_NEIGHBOURHOOD_DEPTH,
  MAX_NEIGHBOURHOOD_NODES,
} from '../../graph/get-neighbourhood.ts';
import { GRAPH_EDGE_TYPES, graphNodeTypeSchema } from '../../graph/graph-model.ts';

const nodeSchema = z.object({
  id: z.uuid(),
  type: graphNodeTypeSchema,
  ref_id: z.string(),
  label: z.string(),
  properties: z.record(z.string(), z.unknown()),
  depth: z.number().int(),
});

const neighbourhoodSchema = z.object({
  root: nodeSchema,
  nodes: z.array(nodeSchema),
  edges: z.array(
    z.object({ type: z.enum(GRAPH_EDGE_TYPES), from: z.uuid(), to: z.uuid(), weight: z.number() }),
  ),
  truncated: z.boolean().describe('True when the node limit left out nodes within the depth'),
});

const featuresSchema = z.object({
  entity_type: z.enum(['account', 'contact', 'opportunity']),
  entity_id: z.uuid(),
  requested_id: z.uuid(),
  version: z.string().nullable(),
  as_of: z.date().nullable(),
  computed_at: z.date().nullable(),
  features: z.record(z.string(), z.number()),
});

export const graphRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/graph/:type/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['graph'],
        summary: 'The neighbourhood of a node in the knowledge graph',
        description:
          'Nodes within `depth` hops, edges in both directions; `id` is the entity id, or the name for an ' +
          'industry. A merged account or contact leads to its survivor.',
        params: z.object({
          type: graphNodeTypeSchema,
          id: z.string().min(1).max(500),
        }),
        querystring: z.object({
          depth: z.coerce.number().int().min(1).max(MAX_NEIGHBOURHOOD_DEPTH).default(2),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(MAX_NEIGHBOURHOOD_NODES)
            .default(200)
            .describe('Most nodes to return, the root included'),
        }),
        response: { 200: neighbourhoodSchema },
      },
    },
    async (request) =>
      getNeighbourhood(db, {
        type: request.params.type,
        id: request.params.id,
        depth: request.query.depth,
        limit: request.query.limit,
      }),
  );
  app.get(
    '/graph/features/:type/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['graph'],
        summary: 'The graph features last computed for an account, contact or opportunity',
        params: z.object({ type: z.enum(['account', 'contact', 'opportunity']), id: z.uuid() }),
        response: { 200: featuresSchema },
      },
    },
    async (request) => getGraphFeatures(db, request.params.type, request.params.id),
  );
};
