// The trail of one decision: events -> features -> model -> agent -> policy -> review -> execution -> outcome.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SYSTEM, transition } from '../../src/agents/decision-store.ts';
import { TRAIL_STAGES } from '../../src/review/decision-trail.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, makeUser, propose } from './review-fixtures.ts';

let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  await activatePolicy(database.db);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const DAY = 86_400_000;

async function contactWithEvents(decisionTime: Date) {
  const db = database.db;
  const contact = await sql<{
    id: string;
  }>`insert into contacts (email) values (${`trail-${crypto.randomUUID()}@acme.test`}) returning id`.execute(
    db,
  );
  const contactId = contact.rows[0]!.id;
  const event = (id: string, type: string, at: Date) =>
    db
      .insertInto('events')
      .values({
        source: 'web',
        source_event_id: `${contactId}-${id}`,
        type,
        type_known: true,
        occurred_at: at,
        contact_id: contactId,
        payload: JSON.stringify({ id }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  const before = [
    await event('a', 'web.page_viewed', new Date(decisionTime.getTime() - 3 * DAY)),
    await event('b', 'email.replied', new Date(decisionTime.getTime() - DAY)),
  ];
  const after = await event('c', 'web.page_viewed', new Date(decisionTime.getTime() + DAY));
  return { contactId, before: before.map((e) => e.id), after: after.id };
}

it('tells the story in the order of the loop, from the events to the outcome', async () => {
  const db = database.db;
  const alice = await makeUser(db, ['reviewer']);
  const decidedAt = new Date(Date.now() - 60_000);
  const { contactId, before, after } = await contactWithEvents(decidedAt);
  const model = await db
    .insertInto('models')
    .values({
      name: 'lead_score',
      version: 3,
      kind: 'gbt',
      feature_set: 'lead_scoring',
      feature_set_version: 2,
      label: 'converted',
      training_data_hash: 'abc',
      train_rows: 100,
      holdout_rows: 20,
      params: JSON.stringify({}),
      code_version: 'test',
      metrics: JSON.stringify({ roc_auc: 0.8 }),
      calibration_curve: JSON.stringify([]),
      artifact: JSON.stringify({}),
      trained_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = await propose(
    db,
    'single',
    {
      subject_id: contactId,
      action: { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'sql', reason: 'intent' } },
      inputs: {
        feature_snapshot: { web_intent: 0.9, reply_rate: 0.5 },
        feature_set: 'lead_scoring',
        feature_set_version: 2,
        model: { id: model.id, name: 'lead_score', version: 3 },
        score: 0.72,
      },
    },
    decidedAt,
  );
  await server.request(`/v1/decisions/${id}/comments`, {
    method: 'POST',
    token: alice.token,
    json: { body: 'checked the account' },
  });
  const approved = await server.request(`/v1/decisions/${id}/reviews`, {
    method: 'POST',
    token: alice.token,
    json: { verdict: 'approve', reason: 'strong intent' },
  });
  expect(approved.body.status).toBe('approved');
  // What the execution and feedback areas do later, done by hand here.
  await db.transaction().execute(async (trx) => {
    await transition(trx, { decisionId: id, from: ['approved'], to: 'executing', actor: SYSTEM });
    await trx
      .updateTable('outbox')
      .set({ status: 'delivered', attempts: 1, delivered_at: new Date() })
      .where('decision_id', '=', id)
      .execute();
    await transition(trx, { decisionId: id, from: ['executing'], to: 'executed', actor: SYSTEM });
    await transition(trx, {
      decisionId: id,
      from: ['executed'],
      to: 'outcome_observed',
      actor: SYSTEM,
      patch: {
        outcome: JSON.stringify({ label: 'opportunity_created', observed_at: new Date().toISOString() }),
      },
    });
  });

  const analyst = await server.tokenFor('analyst');
  const trail = await server.request(`/v1/decisions/${id}/trail`, { token: analyst });
  expect(trail.status).toBe(200);
  const steps: any[] = trail.body.steps;
  const stages = steps.map((s) => s.stage);
  // Every stage is there, in the order of the loop.
  expect([...new Set(stages)]).toEqual([...TRAIL_STAGES]);
  const order = stages.map((s) => TRAIL_STAGES.indexOf(s));
  expect(order).toEqual([...order].sort((a, b) => a - b));

  const events = steps.find((s) => s.stage === 'events');
  expect(events.details.events.map((e: any) => e.id)).toEqual(before);
  expect(events.details.events.map((e: any) => e.id)).not.toContain(after);
  const features = steps.find((s) => s.stage === 'features');
  expect(features.details.snapshot).toEqual({ web_intent: 0.9, reply_rate: 0.5 });
  expect(features.summary).toContain('lead_scoring v2');
  const modelStep = steps.find((s) => s.stage === 'model');
  expect(modelStep.summary).toContain('lead_score v3');
  expect(modelStep.details.model.id).toBe(model.id);
  expect(modelStep.details.score).toBe(0.72);
  expect(steps.find((s) => s.stage === 'agent').summary).toContain('qualification 1.0.0');
  const policy = steps.filter((s) => s.stage === 'policy');
  expect(policy[0].summary).toMatch(/policy v\d+, rule single: review/);
  const review = steps.filter((s) => s.stage === 'review').map((s) => s.summary);
  expect(review[0]).toBe('comment by ' + alice.user.email);
  expect(review[1]).toBe(`${alice.user.email}: approve — strong intent`);
  // The approval's transition comes right after the review that caused it.
  expect(review[2]).toMatch(/^pending_review -> approved/);
  const execution = steps.filter((s) => s.stage === 'execution');
  expect(execution[0].summary).toMatch(/^action via .*: delivered after 1 attempt/);
  expect(execution.slice(1).map((s) => s.details.to)).toEqual(['executing', 'executed']);
  const outcome = steps.filter((s) => s.stage === 'outcome');
  expect(outcome.map((s) => s.summary)).toEqual(
    expect.arrayContaining(['outcome observed: opportunity_created']),
  );
});

it('uses the events the agent named, and says when a stage has nothing recorded', async () => {
  const db = database.db;
  const decidedAt = new Date();
  const { contactId, before } = await contactWithEvents(decidedAt);
  const id = await propose(db, 'blocked', {
    subject_id: contactId,
    action: { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'nurture', reason: 'x' } },
    inputs: { event_ids: [before[1]] },
  });
  const trail = await server.request(`/v1/decisions/${id}/trail`, {
    token: await server.tokenFor('analyst'),
  });
  const steps: any[] = trail.body.steps;
  expect(steps.find((s) => s.stage === 'events').details.events.map((e: any) => e.id)).toEqual([before[1]]);
  expect(steps.find((s) => s.stage === 'features').summary).toBe(
    'no feature snapshot recorded in the inputs',
  );
  expect(steps.find((s) => s.stage === 'model').summary).toBe('no model recorded in the inputs');
  expect(steps.filter((s) => s.stage === 'policy').map((s) => s.summary)).toEqual(
    expect.arrayContaining([expect.stringContaining('block')]),
  );
  expect(steps.some((s) => s.stage === 'execution')).toBe(false);
  expect(
    (
      await server.request(`/v1/decisions/${crypto.randomUUID()}/trail`, {
        token: await server.tokenFor('analyst'),
      })
    ).status,
  ).toBe(404);
});
