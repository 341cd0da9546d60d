// Feedback: KPIs over time and by segment, agent, policy and model version; reviewer workload and
// rubber-stamp signals; holdout experiments with their lift; the ROI report; the training labels.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { parseDuration } from '../../cli/duration.ts';
import { experimentLift, roiReport } from '../../feedback/experiment-report.ts';
import {
  createExperiment,
  getExperiment,
  listExperiments,
  stopExperiment,
} from '../../feedback/experiments.ts';
import { forecastAccuracyIfAvailable } from '../../feedback/forecast-accuracy.ts';
import { computeKpis, KPI_BUCKETS, KPI_GROUPS } from '../../feedback/kpis.ts';
import { reviewerWorkload } from '../../feedback/reviewer-workload.ts';
import { principalOf } from '../auth.ts';

const record = z.record(z.string(), z.unknown());
const DAY = 86_400_000;
const range = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe('default: 90 days ago'),
  to: z.iso.datetime({ offset: true }).optional().describe('default: now'),
});
const rangeOf = (q: { from?: string; to?: string }) => {
  const to = q.to ? new Date(q.to) : new Date();
  return { from: q.from ? new Date(q.from) : new Date(to.getTime() - 90 * DAY), to };
};
const actorOf = (request: Parameters<typeof principalOf>[0]) => {
  const p = principalOf(request);
  return { name: p.email, id: p.userId };
};
const nameParams = z.object({ name: z.string().min(1).max(100) });

export const feedbackRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (
  app,
  { db, config },
) => {
  app.get(
    '/kpis',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary: 'KPIs per day, week or month, by segment, agent, policy version or model version',
        description:
          'Precision of automatically executed decisions, review approve/reject/edit rates, lead-to-SQL and lead-to-opportunity rates, time to first engagement, stage cycle times, lost-opportunity rate and forecast error and bias. `definitions` says how each is computed.',
        querystring: range.extend({
          bucket: z.enum(KPI_BUCKETS).default('week'),
          group_by: z.enum(KPI_GROUPS).default('none'),
        }),
        response: { 200: record },
      },
    },
    async (request) =>
      (await computeKpis(db, {
        ...rangeOf(request.query),
        bucket: request.query.bucket,
        groupBy: request.query.group_by,
        windowDays: config.attributionWindowDays,
      })) as unknown as Record<string, unknown>,
  );

  app.get(
    '/kpis/reviewers',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary:
          'Reviewer workload (items per day, time to decide, queue and its age) and rubber-stamp signals',
        querystring: range,
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({
      items: (await reviewerWorkload(db, rangeOf(request.query))) as unknown as Record<string, unknown>[],
    }),
  );

  app.get(
    '/kpis/forecast',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary: 'Forecast error and bias per period (empty until the forecasting agent records forecasts)',
        querystring: range,
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({
      items: (await forecastAccuracyIfAvailable(db, rangeOf(request.query))) as unknown as Record<
        string,
        unknown
      >[],
    }),
  );

  app.get(
    '/experiments',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary: 'Holdout experiments',
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async () => ({ items: (await listExperiments(db)).map(({ salt: _salt, ...e }) => e) }),
  );

  app.post(
    '/experiments',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['feedback'],
        summary: 'Start a holdout experiment: this share of subjects is left to business as usual (audited)',
        body: z.object({
          name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'lower-case letters, digits, . _ -'),
          holdout_share: z.number().gt(0).lt(1),
          subject_type: z.enum(['contact', 'account', 'opportunity']).default('contact'),
          description: z.string().max(2000).optional(),
        }),
        response: { 201: record },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { salt: _salt, ...row } = await createExperiment(
        db,
        {
          name: b.name,
          holdoutShare: b.holdout_share,
          subjectType: b.subject_type,
          description: b.description ?? null,
        },
        actorOf(request),
      );
      return reply.status(201).send(row);
    },
  );

  app.get(
    '/experiments/:name',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary: 'One experiment',
        params: nameParams,
        response: { 200: record },
      },
    },
    async (request) => {
      const { salt: _salt, ...row } = await getExperiment(db, request.params.name);
      return row;
    },
  );

  app.get(
    '/experiments/:name/lift',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary:
          'Lift of conversion to SQL and to opportunity and of days to SQL, treatment against holdout, with 95 % intervals',
        params: nameParams,
        querystring: range.partial(),
        response: { 200: record },
      },
    },
    async (request) =>
      (await experimentLift(db, {
        experiment: request.params.name,
        ...(request.query.from ? { from: new Date(request.query.from) } : {}),
        ...(request.query.to ? { to: new Date(request.query.to) } : {}),
      })) as unknown as Record<string, unknown>,
  );

  app.post(
    '/experiments/:name/stop',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['feedback'],
        summary: 'Stop an experiment: holdout subjects go back to normal gating (audited)',
        params: nameParams,
        body: z.object({ reason: z.string().trim().min(3).max(2000) }),
        response: { 200: record },
      },
    },
    async (request) => {
      const { salt: _salt, ...row } = await stopExperiment(
        db,
        request.params.name,
        request.body.reason,
        actorOf(request),
      );
      return row;
    },
  );

  app.get(
    '/reports/roi',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary:
          'Effect on conversion and cycle time against the holdout, with intervals, and the human hours spent in review',
        querystring: z.object({
          since: z
            .string()
            .regex(/^\d+(\.\d+)?\s*[smhdw]$/, 'like 90d')
            .default('90d'),
          experiment: z.string().optional(),
        }),
        response: { 200: record },
      },
    },
    async (request) =>
      (await roiReport(db, {
        since: new Date(Date.now() - parseDuration(request.query.since, 'since')),
        ...(request.query.experiment ? { experiment: request.query.experiment } : {}),
      })) as unknown as Record<string, unknown>,
  );

  app.get(
    '/labels',
    {
      config: { access: 'read' },
      schema: {
        tags: ['feedback'],
        summary: 'Decisions with the outcomes linked to them (training labels), newest first',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          agent: z.string().optional(),
        }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => {
      let query = db
        .selectFrom('decisions as d')
        .innerJoin('decision_outcomes as l', 'l.decision_id', 'd.id')
        .innerJoin('outcomes as o', 'o.id', 'l.outcome_id')
        .select([
          'd.id as decision_id',
          'd.agent',
          'd.action_type',
          'd.status',
          'd.subject_id',
          'o.name',
          'o.positive',
          'o.value',
          'o.occurred_at',
          'l.lag_seconds',
        ])
        .orderBy('o.occurred_at', 'desc')
        .limit(request.query.limit);
      if (request.query.agent) query = query.where('d.agent', '=', request.query.agent);
      return { items: await query.execute() };
    },
  );
};
