// The console's sign-in: exchange an API token for an httpOnly session cookie and a CSRF token; sign out.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createSession, CSRF_HEADER, endSession, SESSION_COOKIE, type Session } from '../../auth/sessions.ts';
import { getUser, toUserView, userViewSchema } from '../../auth/users.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { sessionCookie } from '../cookies.ts';

const sessionView = z.object({
  user: userViewSchema,
  roles: z.array(z.string()).describe("the roles this session acts with: the token's"),
  csrf_token: z
    .string()
    .describe(`send it in the ${CSRF_HEADER} header on every request that changes something`),
  expires_at: z.date(),
});

function sessionOf(request: FastifyRequest): Session {
  if (!request.session)
    throw new AppError(
      'not_found',
      'This request was not made with a console session (it used a Bearer token); there is no session to show',
    );
  return request.session;
}

export const sessionRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  const view = async (session: Session) => ({
    user: toUserView(await getUser(db, session.principal.userId)),
    roles: session.principal.roles,
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt,
  });
  const setCookie = (reply: FastifyReply, request: FastifyRequest, value: string, expires: Date | null) =>
    reply.header(
      'set-cookie',
      sessionCookie(SESSION_COOKIE, value, { expires, secure: request.protocol === 'https' }),
    );

  app.post(
    '/session',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        summary:
          'Sign in to the console: exchange an API token for an httpOnly session cookie (SameSite=Strict) and a CSRF token',
        security: [],
        body: z.object({ token: z.string().trim().min(1, 'paste your API token').max(512) }),
        response: { 201: sessionView },
      },
    },
    async (request, reply) => {
      const session = await createSession(db, {
        token: request.body.token,
        userAgent: request.headers['user-agent'],
      });
      setCookie(reply, request, session.secret, session.expiresAt);
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send(await view(session));
    },
  );

  app.get(
    '/session',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['session'],
        summary: 'The console session of this cookie: who, with which roles, and the CSRF token for writes',
        response: { 200: sessionView },
      },
    },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      return view(sessionOf(request));
    },
  );

  app.delete(
    '/session',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['session'],
        summary: 'Sign out: the session ends everywhere and the cookie is cleared',
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await endSession(db, sessionOf(request));
      setCookie(reply, request, '', null);
      return reply.status(204).send(null);
    },
  );
};
