// Monitoring: alarms (open and resolved) and the latest drift / calibration / freshness report; running the
// checks now is for policy owners.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { listAlarms } from '../../monitoring/alarms.ts';
import { runMonitoring } from '../../monitoring/run-monitoring.ts';

const record = z.record(z.string(), z.unknown());

export const monitoringRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (
  app,
  { db, config },
) => {
  app.get(
    '/alarms',
    {
      config: { access: 'read' },
      schema: {
        tags: ['monitoring'],
        summary:
          'Monitoring alarms: drift, calibration, model age, feature freshness, connector and job errors',
        querystring: z.object({
          status: z.enum(['open', 'resolved', 'all']).default('open'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({ items: await listAlarms(db, request.query) }),
  );

  app.get(
    '/monitoring/report',
    {
      config: { access: 'read' },
      schema: {
        tags: ['monitoring'],
        summary:
          'The latest monitoring report: PSI and KS / chi-square per feature and for the score, calibration, freshness, error rates',
        response: { 200: record },
      },
    },
    async () => {
      const row = await db
        .selectFrom('monitoring_reports')
        .select(['at', 'report'])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!row)
        throw new AppError(
          'not_found',
          'No monitoring report yet: the monitoring job runs every 15 minutes, or POST /v1/monitoring/run',
        );
      return row.report as Record<string, unknown>;
    },
  );

  app.post(
    '/monitoring/run',
    {
      config: { access: 'policy' },
      schema: { tags: ['monitoring'], summary: 'Run the monitoring checks now', response: { 200: record } },
    },
    async () => (await runMonitoring(db, config)) as unknown as Record<string, unknown>,
  );
};
