import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { FEATURE_DEFINITIONS, FEATURE_SETS } from '../../features/definitions.ts';
import { getOnlineFeatures } from '../../features/materialize.ts';
import { getContactScores, LEAD_MODEL } from '../../models/score-contacts.ts';

const record = z.record(z.string(), z.unknown());

export const featureRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/features',
    {
      config: { access: 'read' },
      schema: {
        tags: ['features'],
        summary: 'Feature definitions (name, version, entity, window, description) and feature sets',
        response: { 200: z.object({ definitions: z.array(record), sets: z.array(record) }) },
      },
    },
    async () => ({
      definitions: FEATURE_DEFINITIONS.map((d) => ({
        name: d.name,
        version: d.version,
        entity: d.entity,
        type: d.type,
        window_days: d.windowDays,
        description: d.description,
      })),
      sets: FEATURE_SETS.map((s) => ({
        name: s.name,
        version: s.version,
        features: s.features.map((f) => `${f.name}@${f.version}`),
      })),
    }),
  );

  app.get(
    '/features/:entity/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['features'],
        summary:
          'Online features of an entity: latest values, the time they are as of, the feature set version',
        params: z.object({ entity: z.enum(['contact']), id: z.uuid() }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => {
      const rows = await getOnlineFeatures(db, request.params.entity, request.params.id);
      if (rows.length === 0) {
        throw new AppError(
          'not_found',
          `No features for ${request.params.entity} ${request.params.id} yet; they are computed seconds after its events arrive`,
        );
      }
      return { items: rows };
    },
  );

  app.get(
    '/scores/contacts/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['models'],
        summary:
          'Lead scores of a contact: calibrated probability, factors for and against, model version, feature snapshot',
        params: z.object({ id: z.uuid() }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => {
      const items = await getContactScores(db, request.params.id);
      if (items.length === 0)
        throw new AppError('not_found', `Contact ${request.params.id} has not been scored yet`);
      return { items };
    },
  );

  app.get(
    '/scores',
    {
      config: { access: 'read' },
      schema: {
        tags: ['models'],
        summary: 'Contacts ranked by lead score (champion or prior), highest first; exportable',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(5000).default(100),
          min_probability: z.coerce.number().min(0).max(1).default(0),
        }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({
      items: await db
        .selectFrom('lead_scores as s')
        .innerJoin('contacts as c', 'c.id', 's.contact_id')
        .select([
          's.contact_id',
          'c.email',
          's.probability',
          's.is_prior',
          's.model_version',
          's.factors',
          's.as_of',
        ])
        .where('s.model_name', '=', LEAD_MODEL)
        .where('s.alias', '=', 'champion')
        .where('s.probability', '>=', request.query.min_probability)
        .orderBy('s.probability', 'desc')
        .limit(request.query.limit)
        .execute(),
    }),
  );
};
