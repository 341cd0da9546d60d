// Funnel analytics for the console and for scripts: stage conversion and cycle times over time.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { FUNNEL_GROUPS, FUNNEL_OBJECTS, funnelStages } from '../../feedback/funnel-stages.ts';

const cell = z.object({
  month: z.string().nullable().describe('YYYY-MM of entry into the stage; null in totals'),
  group: z.string().nullable(),
  stage: z.string(),
  entered: z.number(),
  advanced: z.number().describe('entries whose next move was to a later stage (not a loss)'),
  lost: z.number().describe('entries whose next move was to a loss (disqualified, closed_lost)'),
  open: z.number().describe('entries still in the stage'),
  conversion_rate: z.number().nullable().describe('advanced / entered'),
  median_days: z.number().nullable().describe('median days in the stage, of the entries that left it'),
  mean_days: z.number().nullable(),
});

const DAY = 86_400_000;

export const funnelRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/funnel/stages',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary:
          'Stage conversion rates and cycle times by month of entry, grouped by segment, region or owner (read only)',
        description:
          'Computed from contact_stage_history (object=contact) or opportunity_stage_history (object=opportunity). ' +
          "Segment and region are the account's; owner is the current owner.",
        querystring: z.object({
          object: z.enum(FUNNEL_OBJECTS).default('contact'),
          group_by: z.enum(FUNNEL_GROUPS).default('none'),
          from: z.iso
            .datetime({ offset: true })
            .optional()
            .describe('entries at or after; default 12 months ago'),
          to: z.iso.datetime({ offset: true }).optional().describe('entries before; default now'),
        }),
        response: {
          200: z.object({
            object: z.enum(FUNNEL_OBJECTS),
            group_by: z.enum(FUNNEL_GROUPS),
            from: z.date(),
            to: z.date(),
            stages: z.array(z.string()).describe('in funnel order'),
            groups: z.array(z.string()),
            rows: z.array(cell),
            totals: z.array(cell),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const to = q.to ? new Date(q.to) : new Date();
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 365 * DAY);
      if (from >= to)
        throw new AppError('validation_failed', 'from must be before to', {
          fields: [{ field: 'querystring.from', message: 'must be before to' }],
        });
      if (to.getTime() - from.getTime() > 5 * 366 * DAY)
        throw new AppError('validation_failed', 'Ask for at most five years at a time', {
          fields: [{ field: 'querystring.from', message: 'at most five years before to' }],
        });
      return funnelStages(db, { object: q.object, groupBy: q.group_by, from, to });
    },
  );
};
