import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { roleSchema } from '../../auth/roles.ts';
import {
  createUser,
  getUser,
  listUsers,
  toUserView,
  updateUser,
  userInputSchema,
  userUpdateSchema,
  userViewSchema,
} from '../../auth/users.ts';
import type { Db } from '../../db/database.ts';
import { appendAudit } from '../../audit/audit-log.ts';
import { principalOf } from '../auth.ts';
import { pageOf, pageQuerySchema, toPage } from '../pagination.ts';

const idParams = z.object({ id: z.uuid('must be a user id (UUID)') });

export const userRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/me',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['users'],
        summary: 'Who the token belongs to, and the roles it carries',
        response: {
          200: z.object({ user: userViewSchema, token_id: z.uuid(), token_roles: z.array(z.string()) }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return {
        user: toUserView(await getUser(db, principal.userId)),
        token_id: principal.tokenId,
        token_roles: principal.roles,
      };
    },
  );

  app.get(
    '/users',
    {
      config: { access: 'read' },
      schema: {
        tags: ['users'],
        summary: 'List users (reps, reviewers, admins, machines)',
        querystring: pageQuerySchema.extend({
          role: roleSchema.optional(),
          active: z.enum(['true', 'false']).optional(),
        }),
        response: { 200: pageOf(userViewSchema) },
      },
    },
    async (request) => {
      const { limit, cursor, role, active } = request.query;
      const rows = await listUsers(db, {
        limit: limit + 1,
        ...(cursor ? { after: cursor } : {}),
        ...(role ? { role } : {}),
        ...(active ? { active: active === 'true' } : {}),
      });
      const page = toPage(rows, limit, (u) => u.id);
      return { items: page.items.map(toUserView), next_cursor: page.next_cursor };
    },
  );

  app.get(
    '/users/:id',
    {
      config: { access: 'read' },
      schema: { tags: ['users'], summary: 'One user', params: idParams, response: { 200: userViewSchema } },
    },
    async (request) => toUserView(await getUser(db, request.params.id)),
  );

  app.post(
    '/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        body: userInputSchema,
        response: { 201: userViewSchema },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const user = await db.transaction().execute(async (trx) => {
        const created = toUserView(await createUser(trx, request.body));
        await appendAudit(trx, {
          actor: actor.email,
          actorId: actor.userId,
          action: 'user.create',
          subjectType: 'user',
          subjectId: created.id,
          after: created,
        });
        return created;
      });
      return reply.status(201).send(user);
    },
  );

  app.patch(
    '/users/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['users'],
        summary: 'Change a user: roles, team, capacity, skills, working hours, or deactivate',
        params: idParams,
        body: userUpdateSchema,
        response: { 200: userViewSchema },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return db.transaction().execute(async (trx) => {
        const before = toUserView(await getUser(trx, request.params.id));
        const after = toUserView(await updateUser(trx, request.params.id, request.body));
        await appendAudit(trx, {
          actor: actor.email,
          actorId: actor.userId,
          action: 'user.update',
          subjectType: 'user',
          subjectId: after.id,
          before,
          after,
        });
        return after;
      });
    },
  );
};
