// Outcome linkage, KPIs on a small hand-built funnel, holdout blocking, and the HTTP routes, on a real database.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition, SYSTEM } from '../../src/agents/decision-store.ts';
import { assignArm } from '../../src/feedback/assign-arm.ts';
import { computeKpis } from '../../src/feedback/kpis.ts';
import { linkOutcomes } from '../../src/feedback/link-outcomes.ts';
import { reviewerWorkload } from '../../src/feedback/reviewer-workload.ts';
import { ingestCloudEvents } from '../../src/ingest/ingest-events.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import { reviewDecision } from '../../src/review/review-decision.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, CONNECTOR, decisionRow, makeUser, propose } from '../review/review-fixtures.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = new Date('2026-01-05T09:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();

let database: TestDatabase;
let server: TestServer;
let counter = 0;
const ids: Record<string, string> = {};

function event(type: string, time: string, data: Record<string, unknown>) {
  return { specversion: '1.0', id: `fx-${++counter}`, source: 'fx', type, time, data };
}
const contact = (name: string) => ({ email: `${name}@buyer-${name}.com` });

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  const db = database.db;
  await ensureSource(db, { name: 'fx' });
  const events = [];
  for (const name of ['c1', 'c2', 'c3', 'c4'])
    events.push(event('crm.contact.stage_changed', at(0), { contact: contact(name), to_stage: 'lead' }));
  events.push(
    event('email.replied', at(1 * DAY), { contact: contact('c1') }),
    event('crm.contact.stage_changed', at(5 * DAY), {
      contact: contact('c1'),
      from_stage: 'lead',
      to_stage: 'sql',
    }),
    event('crm.opportunity.created', at(10 * DAY), {
      opportunity: { crm_id: 'o1' },
      name: 'c1 deal',
      stage: 'discovery',
      amount: 20000,
      opened_at: at(10 * DAY),
      contacts: [{ contact: contact('c1'), role: 'champion' }],
    }),
    event('meeting.held', at(2 * DAY), { contact: contact('c2') }),
    event('crm.contact.stage_changed', at(40 * DAY), {
      contact: contact('c2'),
      from_stage: 'lead',
      to_stage: 'sql',
    }),
    event('crm.contact.stage_changed', at(3 * DAY), {
      contact: contact('c4'),
      from_stage: 'lead',
      to_stage: 'disqualified',
    }),
  );
  const report = await ingestCloudEvents(db, events, { channel: 'http' });
  expect(report.quarantined).toBe(0);
  for (const name of ['c1', 'c2', 'c3', 'c4']) {
    const row = await db
      .selectFrom('contacts')
      .select('id')
      .where('email', '=', contact(name).email)
      .executeTakeFirstOrThrow();
    ids[name] = row.id;
  }
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const qualify = (name: string) => ({
  subject_id: ids[name]!,
  action: { type: 'lead.qualify', params: { contact_id: ids[name]!, to_stage: 'sql', reason: 'intent' } },
});

async function executeAt(decisionId: string, deliveredAt: Date) {
  await database.db.transaction().execute(async (trx) => {
    await transition(trx, { decisionId, from: ['auto_approved'], to: 'executing', actor: SYSTEM });
    await transition(trx, {
      decisionId,
      from: ['executing'],
      to: 'executed',
      actor: SYSTEM,
      patch: { execution: JSON.stringify({ connector: CONNECTOR, delivered_at: deliveredAt.toISOString() }) },
    });
  });
}

describe('outcomes, labels and KPIs', () => {
  it('links outcomes to the decisions before them and moves executed ones to outcome_observed', async () => {
    const db = database.db;
    await activatePolicy(db);
    const reviewer = await makeUser(db, ['reviewer']);
    const decisionTime = new Date(T0.getTime() + HOUR);
    ids['dA'] = await propose(db, 'auto', qualify('c1'), decisionTime);
    ids['dB'] = await propose(db, 'auto', qualify('c3'), decisionTime);
    ids['dC'] = await propose(db, 'single', qualify('c2'), decisionTime);
    ids['dD'] = await propose(db, 'single', qualify('c4'), decisionTime);
    await executeAt(ids['dA']!, new Date(T0.getTime() + 2 * HOUR));
    await executeAt(ids['dB']!, new Date(T0.getTime() + 2 * HOUR));
    const reviewAt = new Date(T0.getTime() + 2 * HOUR);
    await reviewDecision(db, {
      decisionId: ids['dC']!,
      reviewer: reviewer.reviewer,
      verdict: 'reject',
      reason: 'no budget this year',
      connector: CONNECTOR,
      now: reviewAt,
    });
    await reviewDecision(db, {
      decisionId: ids['dD']!,
      reviewer: reviewer.reviewer,
      verdict: 'approve',
      connector: CONNECTOR,
      now: reviewAt,
    });

    const first = await linkOutcomes(db, { windowDays: 30 });
    // c1: replied, became_sql, opportunity_created; c2: meeting_held, became_sql (day 40); c4: disqualified.
    expect(first.outcomes).toBe(6);
    expect(first.observed).toBe(1);
    const a = await decisionRow(db, ids['dA']!);
    expect(a.status).toBe('outcome_observed');
    expect(a.outcome).toMatchObject({ name: 'replied', positive: true });
    // c2's SQL on day 40 is outside the 30-day window of the rejected decision; the meeting on day 2 is in it.
    const labels = await sql<{
      decision_id: string;
      became_sql: boolean;
      meeting_held: boolean;
      opportunity_created: boolean;
    }>`
      select decision_id, became_sql, meeting_held, opportunity_created from decision_labels`.execute(db);
    const byId = new Map(labels.rows.map((r) => [r.decision_id, r]));
    expect(byId.get(ids['dA']!)).toMatchObject({ became_sql: true, opportunity_created: true });
    expect(byId.get(ids['dC']!)).toMatchObject({ became_sql: false, meeting_held: true });
    expect((await decisionRow(db, ids['dB']!)).status).toBe('executed');
    // The rejection is kept as a signal, with its reason.
    const corrections = await sql<{
      decision_id: string;
      reason: string;
    }>`select decision_id, reason from human_corrections`.execute(db);
    expect(corrections.rows).toEqual([{ decision_id: ids['dC'], reason: 'no budget this year' }]);
    // Idempotent: a second run and a backfill find nothing new and change nothing.
    expect(await linkOutcomes(db, { windowDays: 30 })).toEqual({ outcomes: 0, links: 0, observed: 0 });
    expect((await linkOutcomes(db, { windowDays: 30, backfill: true })).links).toBe(0);
    const audit = await db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', ids['dA']!)
      .execute();
    expect(audit.map((r) => r.action)).toContain('decision.outcome_observed');
  });

  it('computes the KPIs of the hand-built funnel', async () => {
    const report = await computeKpis(database.db, {
      from: new Date(T0.getTime() - DAY),
      to: new Date(Date.now() + DAY),
      bucket: 'month',
      groupBy: 'none',
      windowDays: 30,
    });
    const january = report.rows.find((r) => r.bucket === '2026-01-01')!;
    // Precision: dA (qualified to SQL, an opportunity followed) right, dB (nothing within 30 days) wrong.
    expect(january).toMatchObject({
      auto_executed: 2,
      auto_matured: 2,
      auto_successes: 1,
      auto_precision: 0.5,
    });
    // Four leads: c1 SQL on day 5 (c2's day 40 is too late), c1 on an opportunity on day 10.
    expect(january).toMatchObject({
      leads: 4,
      lead_to_sql_rate: 0.25,
      lead_to_opportunity_rate: 0.25,
      engaged_within_30d: 0.5,
    });
    // First engagements after 24 h (c1's reply) and 48 h (c2's meeting): median 36 h.
    expect(january.median_hours_to_first_engagement).toBe(36);
    const reviewRow = report.rows.find((r) => r.reviews > 0)!;
    expect(reviewRow).toMatchObject({ reviews: 2, approve_rate: 0.5, reject_rate: 0.5, edit_rate: 0 });
    // Time as a lead of those that left it: c4 3 days, c1 5, c2 40: median 5.
    const lead = report.stage_cycle_times.find((c) => c.object === 'contact' && c.stage === 'lead')!;
    expect(lead).toMatchObject({ left: 3, median_days: 5 });
    expect(report.forecast).toEqual([]);
    // Forecast error and bias: the forecasting agent's run made before February, against what was won in it.
    const db = database.db;
    await db
      .insertInto('opportunities')
      .values({
        name: 'won in February',
        stage: 'closed_won',
        status: 'won',
        amount: 10000,
        opened_at: at(0),
        closed_at: new Date('2026-02-10T00:00:00Z'),
      })
      .execute();
    const run = await sql<{ id: string }>`
      insert into forecast_runs (as_of, period_kind, model, created_by)
      values ('2026-01-31T00:00:00Z', 'month', '{}', 'test') returning id`.execute(db);
    await sql`
      insert into forecast_run_periods (run_id, period_start, period_end, label, expected, p10, p50, p90, won_to_date, from_open, from_new, breakdown)
      values (${run.rows[0]!.id}, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-02', 12000, 8000, 11500, 16000, 0, 9000, 3000, '{}')`.execute(
      db,
    );
    const withForecast = await computeKpis(db, {
      from: new Date(T0.getTime() - DAY),
      to: new Date(Date.now() + DAY),
      bucket: 'month',
      groupBy: 'none',
      windowDays: 30,
    });
    expect(withForecast.forecast).toHaveLength(1);
    expect(withForecast.forecast[0]).toMatchObject({ forecast: 12000, actual: 10000, within_p10_p90: true });
    expect(withForecast.forecast[0]!.bias).toBeCloseTo(0.2, 10);
    expect(withForecast.forecast[0]!.abs_pct_error).toBeCloseTo(0.2, 10);
    expect(withForecast.rows.find((r) => r.bucket === '2026-02-01')).toMatchObject({
      opportunities_closed: 1,
      lost_opportunity_rate: 0,
    });
    const byAgent = await computeKpis(database.db, {
      from: new Date(T0.getTime() - DAY),
      to: new Date(Date.now() + DAY),
      bucket: 'month',
      groupBy: 'agent',
      windowDays: 30,
    });
    expect(byAgent.rows.find((r) => r.group === 'qualification' && r.auto_executed > 0)?.auto_precision).toBe(
      0.5,
    );
    const workload = await reviewerWorkload(database.db, {
      from: new Date(T0.getTime() - DAY),
      to: new Date(Date.now() + DAY),
    });
    expect(workload[0]).toMatchObject({ items: 2, approval_rate: 0.5, flags: [] });
  });

  it('serves the KPIs, experiments, alarms and the ROI report over HTTP with role read', async () => {
    const analyst = await server.tokenFor('analyst');
    const kpis = await server.request(`/v1/kpis?bucket=month&from=${encodeURIComponent(at(-DAY))}`, {
      token: analyst,
    });
    expect(kpis.status).toBe(200);
    expect(kpis.body.rows.find((r: { bucket: string }) => r.bucket === '2026-01-01').auto_precision).toBe(
      0.5,
    );
    expect((await server.request('/v1/kpis/reviewers', { token: analyst })).status).toBe(200);
    expect((await server.request('/v1/alarms', { token: analyst })).body).toEqual({ items: [] });
    expect((await server.request('/v1/reports/roi?since=400d', { token: analyst })).body.review.reviews).toBe(
      2,
    );
    const refused = await server.request('/v1/experiments', {
      method: 'POST',
      token: analyst,
      json: { name: 'x', holdout_share: 0.1 },
    });
    expect(refused.status).toBe(403);
    const metrics = await server.request('/metrics', { token: analyst });
    expect(metrics.body).toContain('funnelgate_alarms_open');
  });
});

describe('holdout experiments', () => {
  it('records holdout proposals as blocked (reason holdout) and never executes them; treatment goes through the gate', async () => {
    const db = database.db;
    const owner = await server.tokenFor('policy_owner');
    const created = await server.request('/v1/experiments', {
      method: 'POST',
      token: owner,
      json: { name: 'h1', holdout_share: 0.5 },
    });
    expect(created.status).toBe(201);
    expect(created.body.salt).toBeUndefined();
    const experiment = await db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', 'h1')
      .executeTakeFirstOrThrow();
    // Forty subjects: with a random salt, a 50 % holdout is never empty (chance 2^-40).
    const contacts = Array.from({ length: 40 }, () => ({ id: randomUUID() }));
    let holdouts = 0;
    for (const c of contacts) {
      const arm = assignArm(experiment.salt, c.id, 0.5);
      const id = await propose(db, 'auto', {
        subject_id: c.id,
        action_kind: 'holdout-test',
        action: { type: 'lead.qualify', params: { contact_id: c.id, to_stage: 'nurture', reason: 'x' } },
      });
      const row = await decisionRow(db, id);
      expect(row.experiment_arm).toBe(arm);
      if (arm === 'holdout') {
        holdouts++;
        expect(row.status).toBe('blocked');
        expect(row.gate).toMatchObject({ outcome: 'block', rule: 'holdout' });
        expect(await db.selectFrom('outbox').select('id').where('decision_id', '=', id).execute()).toEqual(
          [],
        );
        // Proposing the same again records nothing new.
        const again = await propose(db, 'auto', {
          subject_id: c.id,
          action_kind: 'holdout-test',
          action: { type: 'lead.qualify', params: { contact_id: c.id, to_stage: 'nurture', reason: 'x' } },
        });
        expect(again).toBe(id);
      } else {
        expect(row.status).toBe('auto_approved');
      }
    }
    expect(holdouts).toBeGreaterThan(0);
    const assignments = await db.selectFrom('experiment_assignments').selectAll().execute();
    expect(assignments).toHaveLength(contacts.length);
    const lift = await server.request('/v1/experiments/h1/lift', { token: owner });
    expect(lift.status).toBe(200);
    expect(lift.body.lead_to_sql.method).toBe('newcombe-wilson');
    const stopped = await server.request('/v1/experiments/h1/stop', {
      method: 'POST',
      token: owner,
      json: { reason: 'done testing' },
    });
    expect(stopped.body.status).toBe('stopped');
  });
});
