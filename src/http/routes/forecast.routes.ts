// The forecasting agent and bottleneck findings over HTTP: the forecast (stored as a run), scenarios, the
// backtest, week-over-week changes, and the bottleneck findings with a way to run detection now.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listBottleneckFindings, runBottleneckDetection } from '../../agents/bottleneck/run-bottlenecks.ts';
import { forecastChanges, runBacktest, runForecast } from '../../agents/forecast/run-forecast.ts';
import { PERIOD_KINDS } from '../../agents/forecast/periods.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { principalOf } from '../auth.ts';

const record = z.record(z.string(), z.unknown());
const asOf = z.iso
  .datetime({ offset: true })
  .optional()
  .describe('forecast as of this moment (default now); only what was recorded by then is used');
const factor = (what: string) =>
  z.coerce.number().min(0.1).max(10).default(1).describe(`multiplier on ${what} (1 = as learned)`);

export const forecastRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (
  app,
  { db, config },
) => {
  app.get(
    '/forecast',
    {
      config: { access: 'read' },
      schema: {
        tags: ['forecast'],
        summary:
          'Won value forecast for the current and next period: expected, P10/P50/P90, won so far, from open deals ' +
          '(time-to-event model), from pipeline not created yet, by segment and owner. Stored as a forecast run.',
        querystring: z.object({ period: z.enum(PERIOD_KINDS).default('quarter'), as_of: asOf }),
        response: { 200: record },
      },
    },
    async (request) => ({
      ...(await runForecast(db, {
        kind: request.query.period,
        ...(request.query.as_of ? { asOf: new Date(request.query.as_of) } : {}),
        by: principalOf(request).email,
      })),
    }),
  );

  app.get(
    '/forecast/scenario',
    {
      config: { access: 'read' },
      schema: {
        tags: ['forecast'],
        summary:
          'The forecast with changed win rates, cycle times or pipeline creation (stored as a scenario run)',
        querystring: z.object({
          period: z.enum(PERIOD_KINDS).default('quarter'),
          as_of: asOf,
          win_rate: factor('the chance of winning'),
          cycle_time: factor('the time deals take'),
          pipeline_creation: factor('the value of new pipeline created'),
        }),
        response: { 200: record },
      },
    },
    async (request) => {
      const q = request.query;
      const scenario = {
        win_rate: q.win_rate,
        cycle_time: q.cycle_time,
        pipeline_creation: q.pipeline_creation,
      };
      const by = principalOf(request).email;
      const at = q.as_of ? { asOf: new Date(q.as_of) } : {};
      const [baseline, changed] = await Promise.all([
        runForecast(db, { kind: q.period, ...at, store: false, by }),
        runForecast(db, { kind: q.period, ...at, scenario, by }),
      ]);
      return {
        ...changed,
        baseline: baseline.periods.map((p) => ({
          label: p.label,
          expected: p.expected,
          p10: p.p10,
          p90: p.p90,
        })),
      };
    },
  );

  app.get(
    '/forecast/backtest',
    {
      config: { access: 'read' },
      schema: {
        tags: ['forecast'],
        summary:
          'Forecast each of the last N periods as of its first day and compare with what was won: MAPE and bias ' +
          "next to last period's actual and the stage-weighted pipeline, and the coverage and width of P10-P90 " +
          '(calibrated on the errors of earlier periods, and the Monte Carlo alone)',
        querystring: z.object({
          period: z.enum(PERIOD_KINDS).default('quarter'),
          periods: z.coerce.number().int().min(1).max(24).default(4),
          as_of: asOf,
        }),
        response: { 200: record },
      },
    },
    async (request) => ({
      ...(await runBacktest(db, {
        kind: request.query.period,
        periods: request.query.periods,
        ...(request.query.as_of ? { asOf: new Date(request.query.as_of) } : {}),
      })),
    }),
  );

  app.get(
    '/forecast/changes',
    {
      config: { access: 'read' },
      schema: {
        tags: ['forecast'],
        summary:
          'What moved the forecast since the stored run `days` earlier: new deals, won, lost, slipped, probability changes',
        querystring: z.object({
          period: z.enum(PERIOD_KINDS).default('quarter'),
          days: z.coerce.number().int().min(1).max(90).default(7),
        }),
        response: { 200: record },
      },
    },
    async (request) => ({
      ...(await forecastChanges(db, { kind: request.query.period, days: request.query.days })),
    }),
  );

  app.get(
    '/bottlenecks',
    {
      config: { access: 'read' },
      schema: {
        tags: ['agents'],
        summary:
          'Bottleneck findings: stages (and the segment that explains it) that slowed down or convert less',
        querystring: z.object({
          status: z.enum(['open', 'resolved']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({
      items: await listBottleneckFindings(db, {
        limit: request.query.limit,
        ...(request.query.status ? { status: request.query.status } : {}),
      }),
    }),
  );

  app.post(
    '/bottlenecks/run',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['agents'],
        summary: 'Run bottleneck detection now; remediations go through the gate as proposals',
        body: z
          .object({
            object: z.enum(['opportunity', 'contact']).default('opportunity'),
            propose: z.boolean().default(true),
          })
          .default({ object: 'opportunity', propose: true }),
        response: { 200: record },
      },
    },
    async (request) => ({
      ...(await runBottleneckDetection(db, {
        object: request.body.object,
        propose: request.body.propose,
        connector: config.executionConnector,
      })),
    }),
  );
};
