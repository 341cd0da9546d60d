import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createToken,
  listTokens,
  revokeToken,
  toTokenView,
  tokenInputSchema,
  tokenViewSchema,
} from '../../auth/tokens.ts';
import type { Db } from '../../db/database.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import { principalOf } from '../auth.ts';

export const tokenRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'List API tokens (never their secrets)',
        querystring: z.object({
          user_id: z.uuid().optional(),
          include_revoked: z.enum(['true', 'false']).default('false'),
        }),
        response: { 200: z.object({ items: z.array(tokenViewSchema) }) },
      },
    },
    async (request) => {
      const rows = await listTokens(db, {
        ...(request.query.user_id ? { userId: request.query.user_id } : {}),
        includeRevoked: request.query.include_revoked === 'true',
      });
      return { items: rows.map(toTokenView) };
    },
  );

  app.post(
    '/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Create a token for a user. The secret is in this response only; it is stored hashed.',
        body: tokenInputSchema,
        response: { 201: tokenViewSchema.extend({ token: z.string() }) },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { token, record } = await db.transaction().execute(async (trx) => {
        const created = await createToken(trx, request.body, { createdBy: actor.userId });
        await appendAudit(trx, {
          actor: actor.email,
          actorId: actor.userId,
          action: 'token.create',
          subjectType: 'api_token',
          subjectId: created.record.id,
          after: toTokenView(created.record),
        });
        return created;
      });
      return reply.status(201).send({ ...toTokenView(record), token });
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token; it stops working at once',
        params: z.object({ id: z.uuid() }),
        response: { 200: tokenViewSchema },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return db.transaction().execute(async (trx) => {
        const record = toTokenView(await revokeToken(trx, request.params.id, actor.userId));
        await appendAudit(trx, {
          actor: actor.email,
          actorId: actor.userId,
          action: 'token.revoke',
          subjectType: 'api_token',
          subjectId: record.id,
          after: record,
        });
        return record;
      });
    },
  );
};
