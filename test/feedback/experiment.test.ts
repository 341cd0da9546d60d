// Holdout experiments end to end: the simulator plants a known treatment effect, the lift estimate recovers it
// within its interval, the assignment is stable, and `funnelgate report roi` prints it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignArm } from '../../src/feedback/assign-arm.ts';
import { experimentLift } from '../../src/feedback/experiment-report.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const bin = path.join(root, 'bin/funnelgate.js');

let database: TestDatabase;

function funnelgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [bin, ...args],
      {
        cwd: root,
        timeout: 240_000,
        env: { DATABASE_URL: database.url, NO_COLOR: '1' },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

let planted: {
  expected_lift: number;
  planted_lift: number;
  treatment_leads: number;
  converted_by_treatment: number;
};

beforeAll(async () => {
  database = await createTestDatabase();
  const result = await funnelgate(
    'simulate',
    '--accounts',
    '120',
    '--months',
    '12',
    '--seed',
    '5',
    '--now',
    '2026-06-01T00:00:00Z',
    '--no-bottleneck',
    '--treatment-uplift',
    '0.3',
    '--experiment',
    'sim-holdout',
    '--holdout-share',
    '0.3',
    '--json',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  planted = JSON.parse(result.stdout).treatment;
}, 300_000);
afterAll(async () => {
  await database?.drop();
});

describe('holdout lift on a simulation with a planted treatment effect', () => {
  it('recovers the planted lift in conversion to SQL within its 95 % interval', async () => {
    expect(planted.converted_by_treatment).toBeGreaterThan(0);
    const lift = await experimentLift(database.db, { experiment: 'sim-holdout' });
    const sqlLift = lift.lead_to_sql;
    expect(sqlLift.interval!.low).toBeLessThanOrEqual(planted.expected_lift);
    expect(sqlLift.interval!.high).toBeGreaterThanOrEqual(planted.expected_lift);
    // And it is a finding, not noise: the interval excludes no effect.
    expect(sqlLift.interval!.low).toBeGreaterThan(0);
    console.info(
      `planted lift ${planted.expected_lift.toFixed(3)} (in sample ${planted.planted_lift.toFixed(3)}); estimated ${sqlLift.difference!.toFixed(3)} ` +
        `[${sqlLift.interval!.low.toFixed(3)}, ${sqlLift.interval!.high.toFixed(3)}], treatment ${sqlLift.treatment.x}/${sqlLift.treatment.n}, holdout ${sqlLift.holdout.x}/${sqlLift.holdout.n}`,
    );
  });

  it('assigns every subject to the same arm on every run, with the configured share', async () => {
    const experiment = await database.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', 'sim-holdout')
      .executeTakeFirstOrThrow();
    const first = await experimentLift(database.db, { experiment: 'sim-holdout' });
    const second = await experimentLift(database.db, { experiment: 'sim-holdout' });
    expect(second.subjects).toEqual(first.subjects);
    // The stored arms are the hash of the experiment's salt and the lead, and stay what they were.
    const stored = await database.db
      .selectFrom('experiment_assignments as a')
      .innerJoin('contacts as c', 'c.id', 'a.subject_id')
      .select(['a.arm', 'c.email'])
      .execute();
    expect(stored.length).toBe(first.subjects.treatment + first.subjects.holdout);
    for (const s of stored)
      expect(assignArm(experiment.salt, s.email!, experiment.holdout_share)).toBe(s.arm);
    const n = first.subjects.treatment + first.subjects.holdout;
    // Within four standard errors of the 30 % share.
    expect(Math.abs(first.subjects.observed_holdout_share! - 0.3)).toBeLessThan(
      4 * Math.sqrt((0.3 * 0.7) / n),
    );
  });

  it('funnelgate report roi prints the effect with intervals and the review hours', async () => {
    const text = await funnelgate('report', 'roi', '--since', '1000d');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Experiment sim-holdout');
    expect(text.stdout).toMatch(/lead -> SQL \(30 d\): .* \[95 % CI [+-]\d/);
    expect(text.stdout).toContain('days to SQL');
    expect(text.stdout).toMatch(/Human review: \d+ reviews/);
    const json = await funnelgate('report', 'roi', '--since', '1000d', '--json');
    const report = JSON.parse(json.stdout);
    expect(report.experiments[0].lead_to_sql.interval.low).toBeGreaterThan(0);
    expect(report.review).toMatchObject({ reviews: 0, hours: 0 });
  });
});
