import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { promoteModel } from '../../models/promote-model.ts';
import { getModelVersion, listModels, rollbackModel, setAlias } from '../../models/registry.ts';
import { LEAD_MODEL } from '../../models/score-contacts.ts';
import { trainLeadModel } from '../../models/train-lead-model.ts';
import { principalOf } from '../auth.ts';

const record = z.record(z.string(), z.unknown());
const nameParams = z.object({ name: z.literal(LEAD_MODEL, { error: `the only model is "${LEAD_MODEL}"` }) });
const reason = z.string().trim().min(3, 'say why (kept in the audit trail)').max(2000);

export const modelRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (app, { db, config }) => {
  app.get(
    '/models/:name',
    {
      config: { access: 'read' },
      schema: {
        tags: ['models'],
        summary:
          'Versions of a model with metrics on their held-out time window, calibration curve and aliases',
        params: nameParams,
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({ items: await listModels(db, request.params.name) }),
  );

  app.get(
    '/models/:name/versions/:version',
    {
      config: { access: 'read' },
      schema: {
        tags: ['models'],
        summary: 'One model version, with its artifact (encoder, trees or coefficients, calibrator)',
        params: nameParams.extend({ version: z.coerce.number().int().min(1) }),
        response: { 200: record },
      },
    },
    async (request) => getModelVersion(db, request.params.name, request.params.version),
  );

  app.post(
    '/models/:name/train',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['models'],
        summary:
          'Train a new version point-in-time and evaluate it on a held-out time window; it becomes challenger (champion if there is none)',
        params: nameParams,
        body: z
          .object({
            kind: z.enum(['gbt', 'logistic']).default('gbt'),
            calibration: z.enum(['isotonic', 'platt', 'none']).default('isotonic'),
            holdout_fraction: z.number().min(0.05).max(0.5).default(0.2),
          })
          .default({ kind: 'gbt', calibration: 'isotonic', holdout_fraction: 0.2 }),
        response: { 201: record },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const result = await trainLeadModel(db, {
        kind: request.body.kind,
        calibration: request.body.calibration,
        holdoutFraction: request.body.holdout_fraction,
        by: actor.email,
        byId: actor.userId,
      });
      return reply.status(201).send(result);
    },
  );

  app.post(
    '/models/:name/promote',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['models'],
        summary:
          'Make a version champion; refused unless it beats the champion on the same holdout (FUNNELGATE_PROMOTION_METRIC / _MIN_GAIN)',
        params: nameParams,
        body: z.object({
          version: z.number().int().min(1).optional().describe('default: the challenger'),
          reason,
        }),
        response: { 200: record },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return promoteModel(db, {
        name: request.params.name,
        ...(request.body.version ? { version: request.body.version } : {}),
        by: actor.email,
        byId: actor.userId,
        reason: request.body.reason,
        rule: { metric: config.promotionMetric, minGain: config.promotionMinGain },
      });
    },
  );

  app.post(
    '/models/:name/rollback',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['models'],
        summary: 'Put the previous champion (or the given version) back, in one step',
        params: nameParams,
        body: z.object({ to_version: z.number().int().min(1).optional(), reason }),
        response: { 200: z.object({ from: z.number().nullable(), to: z.number() }) },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return rollbackModel(db, {
        name: request.params.name,
        ...(request.body.to_version ? { toVersion: request.body.to_version } : {}),
        by: actor.email,
        byId: actor.userId,
        reason: request.body.reason,
      });
    },
  );

  app.put(
    '/models/:name/aliases/shadow',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['models'],
        summary:
          'Score with a version in shadow (alongside the champion, never acting); version null removes the shadow',
        params: nameParams,
        body: z.object({ version: z.number().int().min(1).nullable(), reason }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const modelId = request.body.version
        ? (await getModelVersion(db, request.params.name, request.body.version)).id
        : null;
      if (!modelId && request.body.version !== null)
        throw new AppError('validation_failed', 'version must be a number or null');
      await db.transaction().execute((trx) =>
        setAlias(trx, {
          name: request.params.name,
          alias: 'shadow',
          modelId,
          by: actor.email,
          byId: actor.userId,
          reason: request.body.reason,
          action: 'model.alias',
        }),
      );
      return reply.status(204).send(null);
    },
  );
};
