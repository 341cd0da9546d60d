import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  getOpportunity,
  listOpportunities,
  listProducts,
  listTeams,
  listTerritories,
  productInputSchema,
  teamInputSchema,
  territoryInputSchema,
  upsertProduct,
  upsertTeam,
  upsertTerritory,
} from '../../crm/organisation.ts';
import type { Db } from '../../db/database.ts';
import { pageQuerySchema, toPage } from '../pagination.ts';

const record = z.record(z.string(), z.unknown());
const list = z.object({ items: z.array(record) });

export const organisationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/territories',
    {
      config: { access: 'read' },
      schema: { tags: ['organisation'], summary: 'Territories', response: { 200: list } },
    },
    async () => ({
      items: await listTerritories(db),
    }),
  );
  app.put(
    '/territories',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['organisation'],
        summary: 'Create or update a territory by name',
        body: territoryInputSchema,
        response: { 200: record },
      },
    },
    async (request) => upsertTerritory(db, request.body),
  );
  app.get(
    '/teams',
    {
      config: { access: 'read' },
      schema: { tags: ['organisation'], summary: 'Teams', response: { 200: list } },
    },
    async () => ({
      items: await listTeams(db),
    }),
  );
  app.put(
    '/teams',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['organisation'],
        summary: 'Create or update a team by name',
        body: teamInputSchema,
        response: { 200: record },
      },
    },
    async (request) => upsertTeam(db, request.body),
  );
  app.get(
    '/products',
    {
      config: { access: 'read' },
      schema: { tags: ['organisation'], summary: 'Products', response: { 200: list } },
    },
    async () => ({
      items: await listProducts(db),
    }),
  );
  app.put(
    '/products',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['organisation'],
        summary: 'Create or update a product by SKU',
        body: productInputSchema,
        response: { 200: record },
      },
    },
    async (request) => upsertProduct(db, request.body),
  );
  app.get(
    '/opportunities',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary: 'Opportunities',
        querystring: pageQuerySchema.extend({
          account_id: z.uuid().optional(),
          owner_id: z.uuid().optional(),
          status: z.enum(['open', 'won', 'lost']).optional(),
        }),
        response: { 200: z.object({ items: z.array(record), next_cursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listOpportunities(db, {
        limit: q.limit + 1,
        ...(q.cursor ? { after: q.cursor } : {}),
        ...(q.account_id ? { accountId: q.account_id } : {}),
        ...(q.owner_id ? { ownerId: q.owner_id } : {}),
        ...(q.status ? { status: q.status } : {}),
      });
      return toPage(rows, q.limit, (o) => o.id);
    },
  );
  app.get(
    '/opportunities/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary: 'An opportunity with its contacts and stage history',
        params: z.object({ id: z.uuid() }),
        response: { 200: record },
      },
    },
    async (request) => getOpportunity(db, request.params.id),
  );
};
