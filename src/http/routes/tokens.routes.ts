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
      const { token, record } = await createToken(db, request.body, {
        createdBy: principalOf(request).userId,
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
    async (request) => toTokenView(await revokeToken(db, request.params.id, principalOf(request).userId)),
  );
};
