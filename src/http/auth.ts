// Authentication and the role check, for every route, in one hook. A route states its access level in
// `config.access`; a route that states none needs a valid token (fail closed).
//
// Two ways in: "Authorization: Bearer <token>" (scripts, the CLI, other systems) or the console's session cookie.
// A request with the cookie that changes anything must also send the session's CSRF token in x-csrf-token: the
// cookie is SameSite=Strict already, and the token keeps a write from another origin out even where that is not
// enough. A Bearer header wins over a cookie, so a script never needs the CSRF token.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAllowed, type Access } from '../auth/roles.ts';
import {
  authenticateSession,
  csrfMatches,
  CSRF_HEADER,
  SESSION_COOKIE,
  type Session,
} from '../auth/sessions.ts';
import { authenticateToken, type Principal } from '../auth/tokens.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Metrics } from '../monitoring/metrics.ts';
import { readCookie } from './cookies.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    /** Set when the request was authenticated by the console's session cookie. */
    session: Session | undefined;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function registerAuth(app: FastifyInstance, deps: { db: Db; metrics: Metrics }): void {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('session', undefined);
  app.addHook('onRequest', async (request) => {
    const access: Access = request.routeOptions.config?.access ?? 'authenticated';
    if (access === 'public' || access === 'signed') return;
    const principal = await authenticate(request, deps);
    request.principal = principal;
    if (!isAllowed(access, principal.roles)) {
      deps.metrics.authFailures.inc({ reason: 'forbidden' });
      throw new AppError(
        'forbidden',
        `This route needs the "${access}" access level; your token has roles: ${principal.roles.join(', ') || 'none'}`,
        { required: access, roles: principal.roles },
      );
    }
  });
}

async function authenticate(request: FastifyRequest, deps: { db: Db; metrics: Metrics }): Promise<Principal> {
  const token = bearerToken(request);
  if (token) {
    const principal = await authenticateToken(deps.db, token);
    if (!principal) {
      deps.metrics.authFailures.inc({ reason: 'invalid' });
      throw new AppError('unauthenticated', 'The API token is unknown, revoked or expired');
    }
    return principal;
  }
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (cookie) {
    const session = await authenticateSession(deps.db, cookie);
    if (!session) {
      deps.metrics.authFailures.inc({ reason: 'invalid' });
      throw new AppError(
        'unauthenticated',
        'Your session has ended (signed out, expired or revoked); sign in again',
      );
    }
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) {
        deps.metrics.authFailures.inc({ reason: 'csrf' });
        throw new AppError(
          'forbidden',
          `A change made with the session cookie needs the session's CSRF token in the ${CSRF_HEADER} header`,
          {
            hint: 'Reload the console; scripts should send "Authorization: Bearer <token>" instead of the cookie',
          },
        );
      }
    }
    request.session = session;
    return session.principal;
  }
  deps.metrics.authFailures.inc({ reason: 'missing' });
  throw new AppError(
    'unauthenticated',
    'This route needs an API token: send "Authorization: Bearer <token>"',
    {
      hint: 'Create one with `funnelgate token create --user <email> --role <role>`, or sign in to the console',
    },
  );
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

/** For handlers behind a non-public route: the principal is always there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated', 'Not signed in');
  return request.principal;
}
