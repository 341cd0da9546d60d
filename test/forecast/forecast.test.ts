// The forecasting agent. Pure part on simulated worlds with a planted trend (+15 % new accounts per quarter),
// read straight from their events: the backtest (each of the last 12 months forecast as of its first day, with
// models refitted on what was known then) beats both naive baselines on MAPE, pooled over four seeds; scenarios
// move the forecast the right way. End to end through the real ingestion and HTTP: forecast, scenario, backtest,
// week-over-week changes, and the forecast errors the KPIs read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../src/agents/forecast/backtest.ts';
import { forecastPipeline, fitForecastModels } from '../../src/agents/forecast/forecast.ts';
import { latestForecastErrors, runForecast } from '../../src/agents/forecast/run-forecast.ts';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { simulatedOpportunities } from '../helpers/simulated-pipeline.ts';

const now = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const TREND = { accounts: 3000, months: 24, now, growthPerQuarter: 0.15, bottleneck: null };

describe('forecast backtest on simulated worlds with a planted trend (pure)', () => {
  it('beats last period and the stage-weighted pipeline on MAPE, pooled over four seeds', () => {
    const results = [4, 5, 6, 7].map((seed) => {
      const { opportunities } = simulatedOpportunities({ ...TREND, seed });
      return backtest(opportunities, { asOf: now.getTime(), kind: 'month', periods: 12 });
    });
    const mean = (f: (r: (typeof results)[number]) => number) =>
      results.reduce((sum, r) => sum + f(r), 0) / results.length;
    const mape = {
      forecast: mean((r) => r.mape.forecast),
      last_period: mean((r) => r.mape.last_period),
      stage_weighted: mean((r) => r.mape.stage_weighted),
    };
    console.log(
      'pooled monthly MAPE',
      mape,
      'bias',
      mean((r) => r.bias.forecast),
    );
    for (const r of results) expect(r.periods).toHaveLength(12);
    expect(mape.forecast).toBeLessThan(mape.last_period);
    expect(mape.forecast).toBeLessThan(mape.stage_weighted);
    expect(Math.abs(mean((r) => r.bias.forecast))).toBeLessThan(0.35);
  });

  it('moves with the scenario: higher win rates up, longer cycles and less new pipeline down', () => {
    const { opportunities } = simulatedOpportunities({ ...TREND, accounts: 1500, seed: 4 });
    const asOf = now.getTime();
    const fitted = fitForecastModels(opportunities, asOf);
    const run = (scenario = { win_rate: 1, cycle_time: 1, pipeline_creation: 1 }) =>
      forecastPipeline(opportunities, { asOf, kind: 'quarter', scenario }, fitted).periods[0];
    const base = run();
    expect(base.p10).toBeLessThanOrEqual(base.p50);
    expect(base.p50).toBeLessThanOrEqual(base.p90);
    expect(base.expected).toBeCloseTo(base.wonToDate + base.fromOpen + base.fromNew, 0);
    expect(run({ win_rate: 1.2, cycle_time: 1, pipeline_creation: 1 }).expected).toBeGreaterThan(
      base.expected,
    );
    expect(run({ win_rate: 1, cycle_time: 1.5, pipeline_creation: 1 }).expected).toBeLessThan(base.expected);
    const lessNew = run({ win_rate: 1, cycle_time: 1, pipeline_creation: 0.5 });
    expect(lessNew.fromNew).toBeCloseTo(base.fromNew / 2, 0);
    expect(lessNew.fromOpen).toBeCloseTo(base.fromOpen, 0);
  });
});

describe('forecasting agent end to end', () => {
  let database: TestDatabase;
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    await runSimulation({
      db: database.db,
      params: { ...TREND, accounts: 500, seed: 3 },
      sink: inProcessSink(database.db),
    });
    server = await startTestServer(database);
    token = await server.tokenFor('analyst');
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('GET /v1/forecast: two periods with a range, a breakdown by segment and owner, stored as a run', async () => {
    const res = await server.request(`/v1/forecast?period=quarter&as_of=${now.toISOString()}`, { token });
    expect(res.status).toBe(200);
    expect(res.body.periods.map((p: any) => p.label)).toEqual(['2026-Q2', '2026-Q3']);
    for (const p of res.body.periods) {
      expect(p.p10).toBeLessThanOrEqual(p.p90);
      expect(p.expected).toBeGreaterThan(0);
      expect(p.breakdown.segment.length).toBeGreaterThan(1);
      expect(p.breakdown.owner.length).toBeGreaterThan(1);
    }
    expect(res.body.periods[0].won_to_date).toBeGreaterThan(0);
    const runs = await database.db.selectFrom('forecast_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    const deals = await database.db.selectFrom('forecast_run_deals').selectAll().execute();
    expect(deals.length).toBe(res.body.deals);
    expect(deals.every((d) => d.p_current >= 0 && d.p_current + d.p_next <= 1)).toBe(true);
  });

  it('GET /v1/forecast/scenario moves the forecast and shows the baseline next to it', async () => {
    const res = await server.request(
      `/v1/forecast/scenario?period=quarter&as_of=${now.toISOString()}&win_rate=1.3`,
      { token },
    );
    expect(res.status).toBe(200);
    expect(res.body.scenario).toEqual({ win_rate: 1.3, cycle_time: 1, pipeline_creation: 1 });
    expect(res.body.periods[0].expected).toBeGreaterThan(res.body.baseline[0].expected);
    const bad = await server.request('/v1/forecast/scenario?win_rate=0', { token });
    expect(bad.status).toBe(400);
  });

  it('GET /v1/forecast/backtest reports MAPE and bias next to the baselines', async () => {
    const res = await server.request(
      `/v1/forecast/backtest?period=quarter&periods=3&as_of=${now.toISOString()}`,
      { token },
    );
    expect(res.status).toBe(200);
    expect(res.body.periods).toHaveLength(3);
    for (const key of ['forecast', 'last_period', 'stage_weighted']) {
      expect(Number.isFinite(res.body.mape[key])).toBe(true);
      expect(Number.isFinite(res.body.bias[key])).toBe(true);
    }
  });

  it('GET /v1/forecast/changes explains a week of movement deal by deal; forecast errors for the KPIs', async () => {
    const weekBefore = new Date(now.getTime() - 7 * DAY);
    await runForecast(database.db, { asOf: weekBefore, kind: 'quarter', by: 'test' });
    const res = await server.request('/v1/forecast/changes?period=quarter&days=7', { token });
    expect(res.status).toBe(200);
    expect(res.body.same_period).toBe(true);
    const parts = Object.values(res.body.parts as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(Math.abs(parts - res.body.delta)).toBeLessThanOrEqual(10);
    const moved = ['new', 'won', 'lost', 'slipped', 'probability'].reduce(
      (n, k) => n + res.body[k].length,
      0,
    );
    expect(moved).toBeGreaterThan(0);

    // A forecast as of the start of an earlier quarter, now over: its error against what was won.
    await runForecast(database.db, { asOf: new Date('2026-01-01T00:00:00Z'), kind: 'quarter', by: 'test' });
    const errors = await latestForecastErrors(database.db, { now });
    const q1 = errors.find((e) => e.label === '2026-Q1')!;
    expect(q1.actual).toBeGreaterThan(0);
    expect(q1.error).toBeCloseTo((q1.forecast - q1.actual) / q1.actual, 2);
  });
});
