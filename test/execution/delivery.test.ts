// The delivery loop against a local target that fails on command: retries with backoff, the dead-letter queue
// and its replay, permanent failures, the per-connector circuit breaker, compensation of a routing, the fail-
// closed check on the decision, and the job that wakes up when an outbox row is written.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runDeliveries } from '../../src/execution/deliver.ts';
import { deliverJobWith, executionJobs } from '../../src/execution/execution.jobs.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  createContact,
  createOwner,
  decisionOf,
  deliverUntilSettled,
  fastForward,
  outboxOf,
  proposeDecision,
  routing,
  startTarget,
  testSettings,
  type Answer,
  type RecordedRequest,
  type Target,
} from './fixtures.ts';

let database: TestDatabase;
let server: TestServer;
let target: Target;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
  await server?.close();
  await database?.drop();
});
beforeEach(async () => {
  target.requests.length = 0;
  target.answer = () => ({ status: 200, body: { ok: true } });
  await sql`delete from connector_state`.execute(database.db);
});

const keyOf = (r: RecordedRequest) => r.headers['idempotency-key'] as string;
const requestsFor = (decisionId: string, kind = 'action') =>
  target.requests.filter((r) => keyOf(r) === `fg-${decisionId}-${kind}`);

async function transitionsOf(decisionId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('decision_transitions')
    .select('to_status')
    .where('decision_id', '=', decisionId)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.to_status);
}

async function newRouting(connector = 'webhook', withPrevious = true) {
  const owner = await createOwner(database.db);
  const previous = await createOwner(database.db);
  const contactId = await createContact(database.db, { hubspot: String(Math.floor(Math.random() * 1e9)) });
  const action = routing(contactId, owner.id, withPrevious ? previous.id : null);
  return { id: await proposeDecision(database.db, action, { connector }), action, owner, previous };
}

/** Answers with the given sequence for one idempotency key (the last answer repeats). */
function script(key: string, answers: Answer[]): void {
  let n = 0;
  target.answer = (r) => {
    if (keyOf(r) !== key) return { status: 200, body: { ok: true } };
    return answers[Math.min(n++, answers.length - 1)]!;
  };
}

describe('retries', () => {
  it('backs off after 5xx, timeouts and 429 (honouring Retry-After), then delivers once', async () => {
    const { id } = await newRouting();
    script(`fg-${id}-action`, [
      { status: 500, body: { error: 'boom' } },
      { status: 200, body: { late: true }, delayMs: 1500 },
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 200, body: { ok: 'finally' } },
    ]);
    const settings = testSettings(target.url, {
      requestTimeoutMs: 500,
      backoff: { baseMs: 1000, capMs: 5000 },
    });

    const first = await runDeliveries(database.db, settings);
    expect(first).toMatchObject({ retried: 1, delivered: 0 });
    let row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toMatch(/answered 500/);
    // Full jitter: somewhere in [0, base) after the failure.
    const wait1 = row.next_attempt_at.getTime() - row.updated_at.getTime();
    expect(wait1).toBeGreaterThanOrEqual(0);
    expect(wait1).toBeLessThan(1000);
    expect((await decisionOf(database.db, id)).status).toBe('executing');

    await fastForward(database.db);
    expect(await runDeliveries(database.db, settings)).toMatchObject({ retried: 1 });
    row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'pending', attempts: 2 });
    expect(row.last_error).toMatch(/no answer in time/);
    expect(row.next_attempt_at.getTime() - row.updated_at.getTime()).toBeLessThan(2000);

    await fastForward(database.db);
    await runDeliveries(database.db, settings);
    row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'pending', attempts: 3 });
    expect(row.last_error).toMatch(/answered 429/);
    expect(row.next_attempt_at.getTime() - row.updated_at.getTime()).toBeGreaterThanOrEqual(3000);

    await fastForward(database.db);
    expect(await runDeliveries(database.db, settings)).toMatchObject({ delivered: 1 });
    row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'delivered', attempts: 4, last_error: null });
    const decision = await decisionOf(database.db, id);
    expect(decision.status).toBe('executed');
    expect(decision.execution).toMatchObject({ attempts: 4, connector: 'webhook' });
    // Every attempt carried the same key; the decision moved to executing once, not per attempt.
    expect(requestsFor(id)).toHaveLength(4);
    expect(await transitionsOf(id)).toEqual(['proposed', 'auto_approved', 'executing', 'executed']);
  });
});

describe('dead-letter queue', () => {
  it('buries a delivery after the last attempt, and a replay delivers it', async () => {
    const { id } = await newRouting();
    script(`fg-${id}-action`, [{ status: 503 }]);
    const settings = testSettings(target.url, { maxAttempts: 3 });
    await deliverUntilSettled(database.db, settings);
    const dead = await outboxOf(database.db, id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.last_error).toMatch(/gave up after 3 attempts .*answered 503/);
    expect(requestsFor(id)).toHaveLength(3);
    const failed = await decisionOf(database.db, id);
    expect(failed.status).toBe('failed');
    expect(failed.execution).toMatchObject({ dead: true, attempts: 3, outbox_id: dead.id, status: 503 });

    const deadList = await server.request(`/v1/outbox?status=dead&decision_id=${id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(deadList.body.items.map((r: any) => r.id)).toEqual([dead.id]);

    // Replaying sends a CRM write on a person's word: policy owners and admins only, with a reason.
    const reviewer = await server.request(`/v1/outbox/${dead.id}/replay`, {
      method: 'POST',
      token: await server.tokenFor('reviewer'),
      json: { reason: 'the CRM is back' },
    });
    expect(reviewer.status).toBe(403);
    const policyOwner = await server.tokenFor('policy_owner');
    const noReason = await server.request(`/v1/outbox/${dead.id}/replay`, {
      method: 'POST',
      token: policyOwner,
      json: {},
    });
    expect(noReason.status).toBe(400);
    const replayed = await server.request(`/v1/outbox/${dead.id}/replay`, {
      method: 'POST',
      token: policyOwner,
      json: { reason: 'the CRM is back' },
    });
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({ id: dead.id, status: 'pending', attempts: 0 });
    const again = await server.request(`/v1/outbox/${dead.id}/replay`, {
      method: 'POST',
      token: policyOwner,
      json: { reason: 'twice' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/only a dead letter/);
    const audit = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'outbox.replay')
      .where('subject_id', '=', dead.id)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({
      reason: 'the CRM is back',
      actor: expect.stringMatching(/^policy_owner-/),
    });
    expect(audit.before).toMatchObject({ status: 'dead', attempts: 3 });

    target.answer = () => ({ status: 200, body: { ok: true } });
    expect(await runDeliveries(database.db, settings)).toMatchObject({ delivered: 1 });
    expect(await outboxOf(database.db, id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect((await decisionOf(database.db, id)).status).toBe('executed');
    expect(await transitionsOf(id)).toEqual([
      'proposed',
      'auto_approved',
      'executing',
      'failed',
      'executing',
      'executed',
    ]);
  });

  it('buries a delivery the target rejects with a 4xx at once, without retrying', async () => {
    const { id } = await newRouting();
    script(`fg-${id}-action`, [
      { status: 400, body: { message: 'Property "hubspot_owner_email" does not exist' } },
    ]);
    const summary = await runDeliveries(database.db, testSettings(target.url));
    expect(summary).toMatchObject({ dead: 1, retried: 0 });
    const row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row.last_error).toMatch(/permanent failure: .*answered 400: .*does not exist/);
    expect(requestsFor(id)).toHaveLength(1);
    expect((await decisionOf(database.db, id)).status).toBe('failed');
    // A bad request says nothing about the connector's health.
    const state = await database.db.selectFrom('connector_state').selectAll().execute();
    expect(state.every((s) => s.consecutive_failures === 0)).toBe(true);
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, holds deliveries back unattempted, and closes on a success', async () => {
    const settings = testSettings(target.url, { breaker: { threshold: 3, cooldownMs: 60_000 } });
    target.answer = () => ({ status: 502 });
    const failing = [await newRouting(), await newRouting(), await newRouting()];
    await runDeliveries(database.db, settings);
    const open = await database.db
      .selectFrom('connector_state')
      .selectAll()
      .where('connector', '=', 'webhook')
      .executeTakeFirstOrThrow();
    expect(open.consecutive_failures).toBe(3);
    expect(open.open_until!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const states = await server.request('/v1/outbox/connectors', { token: await server.tokenFor('analyst') });
    expect(states.body.items).toContainEqual(
      expect.objectContaining({ connector: 'webhook', open: true, consecutive_failures: 3 }),
    );

    // While open: nothing is attempted, and waiting costs no attempts.
    const waiting = await newRouting();
    await fastForward(database.db);
    const before = target.requests.length;
    expect(await runDeliveries(database.db, settings)).toMatchObject({ delivered: 0, retried: 0 });
    expect(target.requests.length).toBe(before);
    expect(await outboxOf(database.db, waiting.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await decisionOf(database.db, waiting.id)).status).toBe('auto_approved');
    // Other connectors are not held back.
    const other = await newRouting('log');
    await runDeliveries(database.db, settings);
    expect((await decisionOf(database.db, other.id)).status).toBe('executed');

    // Cool-down over, the target still down: one probe fails and the breaker opens for longer.
    await sql`update connector_state set open_until = now() where connector = 'webhook'`.execute(database.db);
    await fastForward(database.db);
    const probeRun = await runDeliveries(database.db, settings);
    expect(probeRun.retried).toBe(1);
    expect(target.requests.length).toBe(before + 1);
    const reopened = await database.db
      .selectFrom('connector_state')
      .selectAll()
      .where('connector', '=', 'webhook')
      .executeTakeFirstOrThrow();
    expect(reopened.consecutive_failures).toBe(4);
    expect(reopened.open_until!.getTime()).toBeGreaterThan(Date.now() + 110_000);

    // The target recovers: the next probe succeeds, the breaker closes, and everything goes out.
    target.answer = () => ({ status: 200, body: { ok: true } });
    await sql`update connector_state set open_until = now() where connector = 'webhook'`.execute(database.db);
    await deliverUntilSettled(database.db, settings);
    for (const { id } of [...failing, waiting])
      expect((await decisionOf(database.db, id)).status).toBe('executed');
    const closed = await database.db
      .selectFrom('connector_state')
      .selectAll()
      .where('connector', '=', 'webhook')
      .executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ consecutive_failures: 0, open_until: null });
  });
});

describe('fail closed', () => {
  it('never delivers for a decision that is not approved, even with an outbox row forced in', async () => {
    const states = [
      'pending_review',
      'rejected',
      'expired',
      'blocked',
      'withdrawn',
      'proposed',
      'compensated',
      'outcome_observed',
    ];
    const forced: { id: string; status: string }[] = [];
    for (const status of states) {
      const contactId = await createContact(database.db);
      const action = {
        type: 'lead.qualify' as const,
        params: { contact_id: contactId, to_stage: 'sql', reason: 'forced' },
      };
      const id = await proposeDecision(database.db, action, { connector: 'webhook', confidence: 0.1 });
      expect((await decisionOf(database.db, id)).status).toBe('pending_review');
      // As if approved_action had been filled in: the status alone must stop it.
      await database.db
        .updateTable('decisions')
        .set({ status, approved_action: JSON.stringify(action) })
        .where('id', '=', id)
        .execute();
      await database.db
        .insertInto('outbox')
        .values({
          decision_id: id,
          kind: 'action',
          connector: 'webhook',
          idempotency_key: `fg-${id}-action`,
          payload: JSON.stringify(action),
          status: 'pending',
        })
        .execute();
      forced.push({ id, status });
    }
    // An approved decision whose outbox payload was changed after approval.
    const tampered = await newRouting();
    await sql`update outbox set payload = jsonb_set(payload, '{params,owner_id}', to_jsonb(gen_random_uuid()::text))
      where decision_id = ${tampered.id}`.execute(database.db);

    const summary = await runDeliveries(database.db, testSettings(target.url));
    expect(summary).toMatchObject({ refused: states.length + 1, delivered: 0 });
    expect(target.requests).toEqual([]);
    for (const { id, status } of forced) {
      expect((await decisionOf(database.db, id)).status).toBe(status);
      const row = await outboxOf(database.db, id);
      expect(row).toMatchObject({ status: 'dead', attempts: 0 });
      expect(row.last_error).toMatch(new RegExp(`refused, nothing was sent: the decision is ${status}`));
    }
    expect((await outboxOf(database.db, tampered.id)).last_error).toMatch(/not the approved action/);
    expect((await decisionOf(database.db, tampered.id)).status).toBe('auto_approved');
    const refusals = await database.db
      .selectFrom('audit_log')
      .select('subject_id')
      .where('action', '=', 'execution.refused')
      .execute();
    expect(refusals).toHaveLength(states.length + 1);

    // Replaying a refused row is refused again.
    const policyOwner = await server.tokenFor('policy_owner');
    const row = await outboxOf(database.db, forced[0]!.id);
    expect(
      (
        await server.request(`/v1/outbox/${row.id}/replay`, {
          method: 'POST',
          token: policyOwner,
          json: { reason: 'try anyway' },
        })
      ).status,
    ).toBe(200);
    expect(await runDeliveries(database.db, testSettings(target.url))).toMatchObject({ refused: 1 });
    expect(target.requests).toEqual([]);
  });
});

describe('compensation', () => {
  it('undoes a routing: the inverse action goes out through the outbox and the decision is compensated', async () => {
    const { id, action, owner, previous } = await newRouting();
    await runDeliveries(database.db, testSettings(target.url));
    expect((await decisionOf(database.db, id)).status).toBe('executed');

    const reviewer = await server.request(`/v1/decisions/${id}/compensate`, {
      method: 'POST',
      token: await server.tokenFor('reviewer'),
      json: { reason: 'wrong territory' },
    });
    expect(reviewer.status).toBe(403);
    const policyOwner = await server.tokenFor('policy_owner');
    const accepted = await server.request(`/v1/decisions/${id}/compensate`, {
      method: 'POST',
      token: policyOwner,
      json: { reason: 'wrong territory' },
    });
    expect(accepted.status).toBe(202);
    const inverse = {
      type: 'lead.assign_owner',
      params: { contact_id: action.params['contact_id'], owner_id: previous.id, previous_owner_id: owner.id },
    };
    expect(accepted.body).toMatchObject({ decision_id: id, connector: 'webhook', action: inverse });
    const requested = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'decision.compensation_requested')
      .where('subject_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(requested).toMatchObject({
      reason: 'wrong territory',
      after: { outbox_id: accepted.body.outbox_id },
    });
    const twice = await server.request(`/v1/decisions/${id}/compensate`, {
      method: 'POST',
      token: policyOwner,
      json: { reason: 'again' },
    });
    expect(twice.status).toBe(409);

    await runDeliveries(database.db, testSettings(target.url));
    const [request] = requestsFor(id, 'compensation');
    expect(request!.body).toMatchObject({
      type: 'funnelgate.action.compensation',
      data: { kind: 'compensation' },
    });
    expect(request!.body.data.action).toEqual(inverse);
    expect(request!.headers['webhook-id']).toBe(`fg-${id}-compensation`);
    const decision = await decisionOf(database.db, id);
    expect(decision.status).toBe('compensated');
    expect(decision.execution).toMatchObject({
      connector: 'webhook',
      compensation: { outbox_id: accepted.body.outbox_id, attempts: 1 },
    });
    expect(await transitionsOf(id)).toEqual([
      'proposed',
      'auto_approved',
      'executing',
      'executed',
      'compensated',
    ]);
  });

  it('answers 409 for what cannot be undone', async () => {
    const policyOwner = await server.tokenFor('policy_owner');
    const compensate = (id: string) =>
      server.request(`/v1/decisions/${id}/compensate`, {
        method: 'POST',
        token: policyOwner,
        json: { reason: 'undo it' },
      });
    const contactId = await createContact(database.db);
    const qualify = await proposeDecision(
      database.db,
      { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'sql', reason: 'fit' } },
      { connector: 'log' },
    );
    const noPrevious = await newRouting('log', false);
    const notYet = await newRouting('log');
    await runDeliveries(database.db, testSettings(target.url), {});
    await sql`update outbox set status = 'pending' where decision_id = ${notYet.id}`.execute(database.db);
    await sql`update decisions set status = 'auto_approved' where id = ${notYet.id}`.execute(database.db);

    const notReversible = await compensate(qualify);
    expect(notReversible.status).toBe(409);
    expect(notReversible.body.error.message).toMatch(/lead.qualify is not reversible/);
    expect((await compensate(noPrevious.id)).body.error.message).toMatch(/no previous owner to restore/);
    expect((await compensate(notYet.id)).body.error.message).toMatch(/is auto_approved; only an executed/);
    expect((await compensate('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    await deliverUntilSettled(database.db, testSettings(target.url));
  });
});

describe('the job', () => {
  it('wakes when an outbox row is written and schedules itself for the next retry', async () => {
    const settings = testSettings(target.url);
    const worker = await startWorker({
      db: database.db,
      pool: database.pool,
      logger: createLogger({ logLevel: 'silent' }),
      concurrency: 2,
      jobs: [deliverJobWith(() => settings)],
      pollIntervalMs: 100,
    });
    try {
      const { id } = await newRouting();
      script(`fg-${id}-action`, [{ status: 500 }, { status: 200, body: { ok: true } }]);
      const deadline = Date.now() + 15_000;
      while ((await decisionOf(database.db, id)).status !== 'executed') {
        if (Date.now() > deadline) throw new Error('the job did not deliver in time');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(requestsFor(id)).toHaveLength(2);
      expect(await outboxOf(database.db, id)).toMatchObject({ status: 'delivered', attempts: 2 });
    } finally {
      await worker.stop();
    }
  });

  it('as registered, reads its settings from the configuration: a fresh install delivers through "log"', async () => {
    const worker = await startWorker({
      db: database.db,
      pool: database.pool,
      logger: createLogger({ logLevel: 'silent' }),
      concurrency: 1,
      jobs: executionJobs,
      pollIntervalMs: 100,
    });
    try {
      const { id } = await newRouting('log');
      const deadline = Date.now() + 15_000;
      while ((await decisionOf(database.db, id)).status !== 'executed') {
        if (Date.now() > deadline) throw new Error('the job did not deliver in time');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await outboxOf(database.db, id)).response).toMatchObject({ nothing_left_the_building: true });
    } finally {
      await worker.stop();
    }
  });
});
