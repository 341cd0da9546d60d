import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../monitoring/metrics.ts';
import { registerAuth } from './auth.ts';
import { registerErrorHandling } from './errors.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.routes.ts';
import { userRoutes } from './routes/users.routes.ts';
import { tokenRoutes } from './routes/tokens.routes.ts';
import { eventRoutes } from './routes/events.routes.ts';
import { ingestRoutes, webhookRoutes } from './routes/ingest.routes.ts';
import { organisationRoutes } from './routes/organisation.routes.ts';
import { graphRoutes } from './routes/graph.routes.ts';
import { auditRoutes } from './routes/audit.routes.ts';
import { featureRoutes } from './routes/features.routes.ts';
import { modelRoutes } from './routes/models.routes.ts';
import { outboxRoutes } from './routes/outbox.routes.ts';
import { decisionRoutes } from './routes/decisions.routes.ts';
import { policyRoutes } from './routes/policies.routes.ts';
import { agentRoutes } from './routes/agents.routes.ts';
import { sessionRoutes } from './routes/session.routes.ts';
import { funnelRoutes } from './routes/funnel.routes.ts';
import { forecastRoutes } from './routes/forecast.routes.ts';
import { feedbackRoutes } from './routes/feedback.routes.ts';
import { monitoringRoutes } from './routes/monitoring.routes.ts';
import { DEFAULT_CONSOLE_DIR, registerConsole } from './console.ts';

export interface ServerDeps {
  config: Config;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck;
  /** The built web console (default: web/dist of this package). */
  consoleDir?: string;
}

export type App = FastifyInstance;

export async function buildServer(deps: ServerDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    // Idle keep-alive sockets close at once on shutdown; requests in flight finish first.
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
    // One log line per request, written by our onResponse hook with the route and the user.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: false } },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerAuth(app, { db: deps.db, metrics: deps.metrics });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        user: request.principal?.email,
      },
      'request',
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Funnelgate API',
        version: '1',
        description:
          'AI agents over a B2B sales funnel, with humans in charge. Every route but /healthz and /readyz needs ' +
          "`Authorization: Bearer fg_...` with an API token (or the console's session cookie, with the x-csrf-token header on " +
          'writes). Errors are always { "error": { "code", "message", "details" } }.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });

  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'authenticated' } }, async () =>
    app.swagger(),
  );
  app.get(
    '/metrics',
    { schema: { hide: true }, config: { access: 'authenticated' } },
    async (_request, reply) => {
      void reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(
    async (v1) => {
      await v1.register(userRoutes, { db: deps.db });
      await v1.register(tokenRoutes, { db: deps.db });
      await v1.register(eventRoutes, { db: deps.db, config: deps.config });
      await v1.register(ingestRoutes, { db: deps.db, config: deps.config });
      await v1.register(webhookRoutes, { db: deps.db, config: deps.config });
      await v1.register(organisationRoutes, { db: deps.db });
      await v1.register(graphRoutes, { db: deps.db });
      await v1.register(auditRoutes, { db: deps.db });
      await v1.register(featureRoutes, { db: deps.db });
      await v1.register(modelRoutes, { db: deps.db, config: deps.config });
      await v1.register(outboxRoutes, { db: deps.db });
      await v1.register(decisionRoutes, { db: deps.db, config: deps.config });
      await v1.register(policyRoutes, { db: deps.db });
      await v1.register(agentRoutes, { db: deps.db, config: deps.config });
      await v1.register(sessionRoutes, { db: deps.db });
      await v1.register(funnelRoutes, { db: deps.db });
      await v1.register(forecastRoutes, { db: deps.db, config: deps.config });
      await v1.register(feedbackRoutes, { db: deps.db, config: deps.config });
      await v1.register(monitoringRoutes, { db: deps.db, config: deps.config });
    },
    { prefix: '/v1' },
  );
  await registerConsole(app, { dir: deps.consoleDir ?? DEFAULT_CONSOLE_DIR });
  return app;
}
