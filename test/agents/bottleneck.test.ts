// The bottleneck detection agent. Pure part on several simulated worlds read straight from their events: the
// planted bottleneck (proposal stage, EMEA, from 60 % of the period) is found with its stage, region and start
// date within ±30 days, and a world without one raises nothing. End to end on one world through the real
// ingestion: findings stored, a remediation proposal per finding through the gate (subject: the finding),
// GET /v1/bottlenecks, and a rerun that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectBottlenecks } from '../../src/agents/bottleneck/detect.ts';
import { runBottleneckDetection } from '../../src/agents/bottleneck/run-bottlenecks.ts';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { simulatedOpportunities, stageEntriesOf } from '../helpers/simulated-pipeline.ts';

const now = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const WORLD = { accounts: 1500, months: 12, now };
/** How close the estimated start must be to the planted one. */
const START_TOLERANCE_DAYS = 30;

describe('bottleneck detection on simulated worlds (pure)', () => {
  it.each([1, 2, 7])('finds the planted bottleneck: stage, region, start date (seed %i)', (seed) => {
    const { funnel, opportunities } = simulatedOpportunities({ ...WORLD, seed });
    const truth = funnel.groundTruth.bottleneck!;
    const report = detectBottlenecks(stageEntriesOf(opportunities), { now });
    expect(report.findings.length).toBeGreaterThanOrEqual(1);
    const top = report.findings[0]!;
    expect(top).toMatchObject({
      stage: truth.stage,
      dimension: 'region',
      value: truth.region,
      kind: 'slowdown',
    });
    const offDays = Math.abs(top.startDate!.getTime() - Date.parse(truth.startDate)) / DAY;
    expect(offDays).toBeLessThanOrEqual(START_TOLERANCE_DAYS);
    expect(top.effect).toBeGreaterThan(1.5);
    // Nothing unrelated: every finding is about the planted stage.
    expect(report.findings.every((f) => f.stage === truth.stage)).toBe(true);
  });

  it.each([3, 4, 5, 6])('raises nothing without a planted bottleneck (seed %i)', (seed) => {
    const { opportunities } = simulatedOpportunities({ ...WORLD, seed, bottleneck: null });
    const report = detectBottlenecks(stageEntriesOf(opportunities), { now });
    expect(report.tests).toBeGreaterThan(50);
    expect(report.findings).toEqual([]);
  });
});

describe('bottleneck detection agent end to end', () => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    await runSimulation({ db: database.db, params: { ...WORLD, seed: 7 }, sink: inProcessSink(database.db) });
    server = await startTestServer(database);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('stores the finding and proposes a remediation that waits for review', async () => {
    const result = await runBottleneckDetection(database.db, { now, connector: 'log' });
    const top = result.findings[0]!;
    expect(top).toMatchObject({ stage: 'proposal', dimension: 'region', value: 'EMEA', kind: 'slowdown' });
    expect(Math.abs(top.startDate!.getTime() - Date.parse('2026-01-06T00:00:00Z')) / DAY).toBeLessThanOrEqual(
      START_TOLERANCE_DAYS,
    );
    expect(top.decision).toMatchObject({ status: 'pending_review', outcome: 'created' });
    const decision = await database.db
      .selectFrom('decisions')
      .selectAll()
      .where('id', '=', top.decision!.id)
      .executeTakeFirstOrThrow();
    expect(decision).toMatchObject({
      subject_type: 'bottleneck',
      subject_id: top.id,
      action_type: 'funnel.remediate',
    });
    expect((decision.action as any).params).toMatchObject({ stage: 'proposal', segment: { region: 'EMEA' } });

    const token = await server.tokenFor('analyst');
    const listed = await server.request('/v1/bottlenecks?status=open', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.items[0]).toMatchObject({ id: top.id, stage: 'proposal', segment_value: 'EMEA' });

    // The trail of a decision about a finding works (no events of its own).
    const reviewer = await server.tokenFor('reviewer');
    const trail = await server.request(`/v1/decisions/${top.decision!.id}/trail`, { token: reviewer });
    expect(trail.status).toBe(200);
  });

  it('a rerun updates the same finding and leaves its proposal unchanged', async () => {
    const again = await runBottleneckDetection(database.db, { now, connector: 'log' });
    expect(again.findings[0]!.decision!.outcome).toBe('unchanged');
    const rows = await database.db.selectFrom('bottleneck_findings').selectAll().execute();
    expect(rows.filter((r) => r.status === 'open')).toHaveLength(again.findings.length);
  });
});
