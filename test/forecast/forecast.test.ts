// The forecasting agent. Pure part on simulated worlds with a planted trend (+15 % new accounts per quarter),
// read straight from their events: the backtest (each of the last 12 months forecast as of its first day, with
// models refitted on what was known then) beats both naive baselines on MAPE, pooled over four seeds, without a
// bias in the total, and its calibrated P10-P90 holds the actual about as often as it says; the interval code
// on closed-form cases; scenarios move the forecast the right way. End to end through the real ingestion and
// HTTP: forecast, scenario, backtest, week-over-week changes, and the forecast errors the KPIs read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../src/agents/forecast/backtest.ts';
import { forecastPipeline, fitForecastModels, gammaMeanOne } from '../../src/agents/forecast/forecast.ts';
import {
  calibratedRange,
  calibrationScore,
  conformalQuantile,
  logSpread,
  Z90,
} from '../../src/agents/forecast/interval.ts';
import { normal, seededRandom } from '../../src/models/ml/random.ts';
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
    const coverage = mean((r) => r.coverage_p10_p90);
    console.log('pooled monthly MAPE', mape, {
      bias: mean((r) => r.bias.forecast),
      total_error: mean((r) => r.total_error.forecast),
      coverage,
      width: mean((r) => r.width_p10_p90),
      coverage_monte_carlo: mean((r) => r.coverage_p10_p90_monte_carlo),
      width_monte_carlo: mean((r) => r.width_p10_p90_monte_carlo),
    });
    for (const r of results) {
      expect(r.periods).toHaveLength(12);
      // Nine earlier months calibrate each range (the world is 24 months long: all of them could be scored).
      expect(r.periods.every((p) => p.calibration_periods >= 8)).toBe(true);
    }
    expect(mape.forecast).toBeLessThan(mape.last_period);
    expect(mape.forecast).toBeLessThan(mape.stage_weighted);
    // The total is unbiased; the mean signed percentage error leans positive by construction (1 / actual).
    expect(Math.abs(mean((r) => r.total_error.forecast))).toBeLessThan(0.08);
    expect(Math.abs(mean((r) => r.bias.forecast))).toBeLessThan(0.2);
    // Nominal 80 %: pooled over 48 months, reasonably close, and not bought with a useless width.
    expect(coverage).toBeGreaterThanOrEqual(0.6);
    expect(coverage).toBeLessThanOrEqual(0.95);
    expect(mean((r) => r.width_p10_p90)).toBeLessThan(1.5);
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

describe('the P10-P90 range (pure)', () => {
  // A Monte Carlo range of ±1.2816 σ around 100 in log space, σ = 0.1.
  const sigma = 0.1;
  const p10 = 100 * Math.exp(-Z90 * sigma);
  const p90 = 100 * Math.exp(Z90 * sigma);

  it('scores a past period as its log error in units of the Monte Carlo spread', () => {
    expect(logSpread(100, p10, p90)).toBeCloseTo(sigma, 10);
    expect(calibrationScore(100 * Math.exp(0.2), 100, p10, p90)).toBeCloseTo(2, 10);
    expect(calibrationScore(100 * Math.exp(-0.05), 100, p10, p90)).toBeCloseTo(-0.5, 10);
    expect(calibrationScore(0, 100, p10, p90)).toBeNull();
  });

  it('takes the split-conformal rank with four or more scores, t(0.9; n) x rms with two or three', () => {
    // n = 5: the ⌈6 x 0.8⌉ = 5th smallest |z|; n = 9: the 8th.
    expect(conformalQuantile([0.5, -1, 2, -3, 1.5])).toBe(3);
    expect(conformalQuantile([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])).toBe(0.8);
    expect(conformalQuantile([1, -1])).toBeCloseTo(1.8856, 4);
    expect(conformalQuantile([3])).toBeNull();
    const range = calibratedRange(100, p10, p90, [0.5, -1, 2, -3, 1.5]);
    expect(range.method).toBe('calibrated');
    expect(range.p10).toBeCloseTo(100 * Math.exp(-0.3), 8);
    expect(range.p90).toBeCloseTo(100 * Math.exp(0.3), 8);
    expect(calibratedRange(100, p10, p90, [2])).toEqual({
      p10,
      p90,
      method: 'monte_carlo',
      periods: 1,
      q: null,
    });
  });

  it('covers a new exchangeable period ⌈0.8 (n + 1)⌉ / (n + 1) of the time (n = 9: 80 %)', () => {
    const random = seededRandom(11);
    const draw = () => normal(random);
    const trials = 20_000;
    let inside = 0;
    for (let t = 0; t < trials; t++) {
      // Errors twice as large as the Monte Carlo says: its own range would hold only 48 % of them.
      const past = Array.from({ length: 9 }, () => 2 * draw());
      const range = calibratedRange(100, p10, p90, past);
      const actual = 100 * Math.exp(2 * draw() * sigma);
      if (actual >= range.p10 && actual <= range.p90) inside++;
    }
    expect(inside / trials).toBeGreaterThan(0.785);
    expect(inside / trials).toBeLessThan(0.815);
  });

  it('draws the new-pipeline rate multiplier with mean 1 and the given variance', () => {
    const random = seededRandom(5);
    for (const variance of [0.04, 0.5, 2]) {
      const draws = Array.from({ length: 40_000 }, () => gammaMeanOne(variance, random));
      const m = draws.reduce((a, b) => a + b, 0) / draws.length;
      const v = draws.reduce((a, b) => a + (b - m) ** 2, 0) / draws.length;
      expect(m).toBeCloseTo(1, 1);
      expect(v / variance).toBeGreaterThan(0.9);
      expect(v / variance).toBeLessThan(1.1);
    }
    expect(gammaMeanOne(0, random)).toBe(1);
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
      expect(p.p10).toBeLessThanOrEqual(p.p50);
      expect(p.p50).toBeLessThanOrEqual(p.p90);
      // Four quarters before 2026-Q2 could be forecast as of their first day and scored.
      expect(p.range.method).toBe('calibrated');
      expect(p.range.periods).toBeGreaterThanOrEqual(2);
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
      expect(Number.isFinite(res.body.total_error[key])).toBe(true);
    }
    for (const key of ['coverage_p10_p90', 'coverage_p10_p90_monte_carlo']) {
      expect(res.body[key]).toBeGreaterThanOrEqual(0);
      expect(res.body[key]).toBeLessThanOrEqual(1);
    }
    expect(res.body.width_p10_p90).toBeGreaterThan(0);
    expect(res.body.calibration_periods).toBe(4);
    for (const p of res.body.periods) expect(p.p10).toBeLessThanOrEqual(p.p90);
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
