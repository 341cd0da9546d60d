// SLA timers: deadlines fail closed (expire or deny, never approve), the escalation chain (remind, reassign to a
// backup, escalate to the manager), expired claims released; the job and its cron item are registered.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobs } from '../../src/jobs/jobs.ts';
import { schedules } from '../../src/jobs/schedules.ts';
import { createLogger } from '../../src/logger.ts';
import { claimDecision } from '../../src/review/claim-decision.ts';
import { runDeadlines, SYSTEM_USER_EMAIL } from '../../src/review/deadlines.ts';
import { reviewDecision } from '../../src/review/review-decision.ts';
import { REVIEW_DEADLINES_JOB } from '../../src/review/review.jobs.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { activatePolicy, CONNECTOR, decisionRow, makeUser, outboxOf, propose } from './review-fixtures.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await activatePolicy(database.db);
});
afterAll(async () => {
  await database?.drop();
});

const HOUR = 3_600_000;

async function pastDeadline(id: string) {
  await database.db
    .updateTable('decisions')
    .set({ deadline_at: new Date(Date.now() - 1000) })
    .where('id', '=', id)
    .execute();
}

async function auditOf(id: string) {
  return database.db
    .selectFrom('audit_log')
    .selectAll()
    .where('subject_type', '=', 'decision')
    .where('subject_id', '=', id)
    .orderBy('id')
    .execute();
}

it('a decision past its deadline expires (on_deadline: expire), is never approved, has no outbox row', async () => {
  const alice = await makeUser(database.db, ['reviewer']);
  // Half approved (one of two) and claimed by a second reviewer when the deadline passes.
  const half = await propose(database.db, 'four');
  await reviewDecision(database.db, {
    decisionId: half,
    reviewer: alice.reviewer,
    verdict: 'approve',
    connector: CONNECTOR,
  });
  await claimDecision(database.db, {
    decisionId: half,
    reviewer: (await makeUser(database.db, ['reviewer'])).reviewer,
  });
  await pastDeadline(half);

  const run = await runDeadlines(database.db);
  expect(run.expired).toBeGreaterThanOrEqual(1);
  const row = await decisionRow(database.db, half);
  expect(row.status).toBe('expired');
  expect(row.approved_action).toBeNull();
  expect(row.claimed_by).toBeNull();
  expect(await outboxOf(database.db, half)).toHaveLength(0);
  const transitions = await database.db
    .selectFrom('decision_transitions')
    .selectAll()
    .where('decision_id', '=', half)
    .orderBy('id')
    .execute();
  expect(transitions.at(-1)).toMatchObject({
    from_status: 'pending_review',
    to_status: 'expired',
    actor: 'system',
  });
  expect((await auditOf(half)).map((a) => a.action)).toContain('decision.expired');
  // Running again changes nothing.
  expect((await runDeadlines(database.db)).expired).toBe(0);
});

it('on_deadline: deny rejects with the reason "denied by deadline"', async () => {
  const id = await propose(database.db, 'deny');
  await pastDeadline(id);
  const run = await runDeadlines(database.db);
  expect(run.denied).toBe(1);
  const row = await decisionRow(database.db, id);
  expect(row.status).toBe('rejected');
  const last = await database.db
    .selectFrom('decision_transitions')
    .selectAll()
    .where('decision_id', '=', id)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  expect(last.reason).toBe('denied by deadline');
  expect(await outboxOf(database.db, id)).toHaveLength(0);
});

it('escalates along the chain: remind, reassign to the backup, escalate to the manager', async () => {
  const db = database.db;
  const manager = await makeUser(db, ['reviewer'], { capacity: 5 });
  const first = await makeUser(db, ['reviewer']);
  const backup = await makeUser(db, ['reviewer'], {
    skills: ['lead.qualify', 'escalation-test'],
    manager_id: manager.user.id,
  });
  // Went to review 90 minutes ago: the reminder (after 1 h) is due, the reassignment (after 2 h) is not.
  const start = new Date(Date.now() - 1.5 * HOUR);
  const id = await propose(
    db,
    'escalate',
    { facts: { account_tier: 'escalate', skills: ['escalation-test'] } },
    start,
  );
  await db.updateTable('decisions').set({ assigned_to: first.user.id }).where('id', '=', id).execute();
  expect((await decisionRow(db, id)).next_escalation_at).toEqual(new Date(start.getTime() + HOUR));

  const reminded = await runDeadlines(db);
  expect(reminded.escalations).toMatchObject({ remind: 1, reassign: 0, escalate_to_manager: 0 });
  let row = await decisionRow(db, id);
  expect(row.escalation_level).toBe(1);
  expect(row.assigned_to).toBe(first.user.id);
  expect(row.next_escalation_at).toEqual(new Date(start.getTime() + 2 * HOUR));
  const comments = await db
    .selectFrom('decision_comments')
    .selectAll()
    .where('decision_id', '=', id)
    .execute();
  expect(comments).toHaveLength(1);
  expect(comments[0]!.body).toMatch(/^reminder/);
  expect(comments[0]!.body).toContain(first.user.email);
  const system = await db
    .selectFrom('users')
    .selectAll()
    .where('email', '=', SYSTEM_USER_EMAIL)
    .executeTakeFirstOrThrow();
  expect(comments[0]!.author_id).toBe(system.id);
  expect(system).toMatchObject({ active: false, kind: 'machine', roles: [] });
  expect((await auditOf(id)).map((a) => a.action)).toContain('decision.escalation.remind');
  // Nothing more is due yet.
  expect((await runDeadlines(db)).escalations.reassign).toBe(0);

  // Half an hour later the reassignment is due: to the backup (the skills match), never the current assignee.
  await db
    .updateTable('decisions')
    .set({ next_escalation_at: new Date(Date.now() - 1000) })
    .where('id', '=', id)
    .execute();
  expect((await runDeadlines(db)).escalations.reassign).toBe(1);
  row = await decisionRow(db, id);
  expect(row.assigned_to).toBe(backup.user.id);
  expect(row.escalation_level).toBe(2);
  const reassigned = (await auditOf(id)).find((a) => a.action === 'decision.escalation.reassign')!;
  expect(reassigned.before).toMatchObject({ assigned_to: first.user.id });
  expect(reassigned.after).toMatchObject({ assigned_to: backup.user.id });

  // Then the manager of the assignee.
  await db
    .updateTable('decisions')
    .set({ next_escalation_at: new Date(Date.now() - 1000) })
    .where('id', '=', id)
    .execute();
  expect((await runDeadlines(db)).escalations.escalate_to_manager).toBe(1);
  row = await decisionRow(db, id);
  expect(row.assigned_to).toBe(manager.user.id);
  expect(row.escalation_level).toBe(3);
  expect(row.next_escalation_at).toBeNull();
  expect(row.status).toBe('pending_review');
  const escalated = (await auditOf(id)).find((a) => a.action === 'decision.escalation.escalate_to_manager')!;
  expect(escalated.reason).toContain('manager');
});

it('a manager who may not review the decision is passed over for an admin', async () => {
  const db = database.db;
  const boss = await makeUser(db, ['analyst']);
  const worker = await makeUser(db, ['reviewer'], { manager_id: boss.user.id });
  const admin = await makeUser(db, ['admin']);
  const start = new Date(Date.now() - 3.5 * HOUR);
  const id = await propose(db, 'escalate', {}, start);
  await db
    .updateTable('decisions')
    .set({
      assigned_to: worker.user.id,
      escalation_level: 2,
      next_escalation_at: new Date(Date.now() - 1000),
    })
    .where('id', '=', id)
    .execute();
  await runDeadlines(db);
  const row = await decisionRow(db, id);
  const audit = (await auditOf(id)).find((a) => a.action === 'decision.escalation.escalate_to_manager')!;
  expect(audit.reason).toContain('may not review');
  expect(row.assigned_to).not.toBe(boss.user.id);
  expect(row.assigned_to).toBe(admin.user.id);
});

it('a late run catches up on every escalation step that is due, one after another', async () => {
  const db = database.db;
  await makeUser(db, ['reviewer']);
  const start = new Date(Date.now() - 4 * HOUR);
  const id = await propose(db, 'escalate', {}, start);
  const run = await runDeadlines(db);
  expect(run.escalations.remind).toBeGreaterThanOrEqual(1);
  const row = await decisionRow(db, id);
  expect(row.escalation_level).toBe(3);
  expect(row.next_escalation_at).toBeNull();
  const actions = (await auditOf(id))
    .map((a) => a.action)
    .filter((a) => a.startsWith('decision.escalation.'));
  expect(actions).toEqual([
    'decision.escalation.remind',
    'decision.escalation.reassign',
    'decision.escalation.escalate_to_manager',
  ]);
});

it('releases claims whose lease ran out, audited', async () => {
  const db = database.db;
  const alice = await makeUser(db, ['reviewer']);
  const id = await propose(db, 'single');
  await claimDecision(db, { decisionId: id, reviewer: alice.reviewer, leaseMs: 1 });
  await new Promise((r) => setTimeout(r, 5));
  const run = await runDeadlines(db);
  expect(run.claims_released).toBeGreaterThanOrEqual(1);
  const row = await decisionRow(db, id);
  expect(row.claimed_by).toBeNull();
  expect(row.status).toBe('pending_review');
  expect((await auditOf(id)).map((a) => a.action)).toContain('decision.claim_expired');
});

it('is a registered job, run every minute by a cron item', async () => {
  const job = jobs.find((j) => j.id === REVIEW_DEADLINES_JOB);
  expect(job).toBeDefined();
  const cron = schedules().find((c) => c.task === REVIEW_DEADLINES_JOB);
  expect(cron).toBeDefined();
  for (const [min, hour] of [
    [0, 0],
    [17, 3],
    [59, 23],
  ])
    expect(cron!.match({ min: min!, hour: hour!, date: 12, month: 5, dow: 2 })).toBe(true);
  const id = await propose(database.db, 'deny');
  await pastDeadline(id);
  // The payload graphile-worker's cron adds is accepted.
  const payload = job!.schema.parse({ _cron: { ts: new Date().toISOString(), backfilled: false } });
  await job!.handler(payload, { db: database.db, logger: createLogger({ logLevel: 'silent' }) }, {} as any);
  expect((await decisionRow(database.db, id)).status).toBe('rejected');
});
