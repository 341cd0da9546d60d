// Authentication and the role check, for every route, in one hook. A route states its access level in
// `config.access`; a route that states none needs a valid token (fail closed).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAllowed, type Access } from '../auth/roles.ts';
import { authenticateToken, type Principal } from '../auth/tokens.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Metrics } from '../monitoring/metrics.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export function registerAuth(app: FastifyInstance, deps: { db: Db; metrics: Metrics }): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const access: Access = request.routeOptions.config?.access ?? 'authenticated';
    if (access === 'public' || access === 'signed') return;
    const token = bearerToken(request);
    if (!token) {
      deps.metrics.authFailures.inc({ reason: 'missing' });
      throw new AppError(
        'unauthenticated',
        'This route needs an API token: send "Authorization: Bearer <token>"',
        {
          hint: 'Create one with `funnelgate token create --user <email> --role <role>`',
        },
      );
    }
    const principal = await authenticateToken(deps.db, token);
    if (!principal) {
      deps.metrics.authFailures.inc({ reason: 'invalid' });
      throw new AppError('unauthenticated', 'The API token is unknown, revoked or expired');
    }
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
