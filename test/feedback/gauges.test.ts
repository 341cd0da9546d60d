// The scheduled gauges of the forecasting and bottleneck agents: the latest plain forecast per period kind and the
// open findings reach /metrics through metric_snapshots (a scenario or an older run never does).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { refreshKpiGauges } from '../../src/feedback/kpi-gauges.ts';
import { createMetrics } from '../../src/monitoring/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

async function forecastRun(asOf: string, expected: number, scenario: object | null): Promise<void> {
  const db = database.db;
  const run = await db
    .insertInto('forecast_runs')
    .values({
      as_of: new Date(asOf),
      period_kind: 'quarter',
      scenario: scenario ? JSON.stringify(scenario) : null,
      model: JSON.stringify({}),
      created_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('forecast_run_periods')
    .values({
      run_id: run.id,
      period_start: new Date('2026-10-01T00:00:00Z'),
      period_end: new Date('2027-01-01T00:00:00Z'),
      label: '2026-Q4',
      expected,
      p10: expected * 0.8,
      p50: expected,
      p90: expected * 1.2,
      won_to_date: 0,
      from_open: expected,
      from_new: 0,
      breakdown: JSON.stringify({}),
    })
    .execute();
}

it('exports the latest plain forecast and the open bottleneck findings', async () => {
  const db = database.db;
  await forecastRun('2026-11-01T00:00:00Z', 100_000, null);
  await forecastRun('2026-11-20T00:00:00Z', 150_000, null);
  await forecastRun('2026-11-21T00:00:00Z', 999_000, { win_rate: 2 });
  const finding = {
    object: 'opportunity' as const,
    stage: 'proposal',
    dimension: 'region' as const,
    kind: 'slowdown' as const,
    effect: 2.4,
    p_value: 0.0001,
    q_value: 0.001,
    summary: 'slow',
    details: JSON.stringify({}),
    first_detected_at: new Date(),
    last_detected_at: new Date(),
  };
  await db
    .insertInto('bottleneck_findings')
    .values([
      { ...finding, key: 'a', segment_value: 'EMEA' },
      { ...finding, key: 'b', segment_value: 'APAC' },
      { ...finding, key: 'c', segment_value: 'NA', status: 'resolved' },
    ])
    .execute();

  await refreshKpiGauges(db, { windowDays: 30, now: new Date('2026-11-24T00:00:00Z') });
  const text = await createMetrics({ defaultMetrics: false, db }).registry.metrics();
  // One sample line: the metric name, every given label (in any order), the value.
  const sample = (name: string, labels: Record<string, string>) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`))
      .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      .map((line) => Number(line.split(' ').at(-1)));
  expect(sample('funnelgate_forecast_won_value', { period: '2026-Q4', statistic: 'expected' })).toEqual([
    150_000,
  ]);
  expect(sample('funnelgate_forecast_won_value', { period_kind: 'quarter', statistic: 'p90' })).toEqual([
    180_000,
  ]);
  expect(text).not.toMatch(/999000/);
  expect(sample('funnelgate_bottlenecks_open', { object: 'opportunity', kind: 'slowdown' })).toEqual([2]);
});
