// Bulk review over real HTTP: approval only where the policy allows bulk and one approval is needed; rejection
// for all; each item on its own, with a result per item.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bulkReview } from '../../src/review/bulk-review.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, CONNECTOR, decisionRow, makeUser, outboxOf, propose } from './review-fixtures.ts';

let database: TestDatabase;
let server: TestServer;
let alice: Awaited<ReturnType<typeof makeUser>>;
let bob: Awaited<ReturnType<typeof makeUser>>;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  await activatePolicy(database.db);
  alice = await makeUser(database.db, ['reviewer']);
  bob = await makeUser(database.db, ['reviewer']);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const bulk = (token: string, json: unknown) =>
  server.request('/v1/decisions/bulk-reviews', { method: 'POST', token, json });

it('approves only what the policy lets through in bulk and reports every other item as refused', async () => {
  const db = database.db;
  const allowed = [await propose(db, 'bulk'), await propose(db, 'bulk')];
  const notBulk = await propose(db, 'single');
  const fourEyes = await propose(db, 'bulk-four');
  const claimedByBob = await propose(db, 'bulk');
  await server.request(`/v1/decisions/${claimedByBob}/claim`, { method: 'POST', token: bob.token, json: {} });
  const alreadyRejected = await propose(db, 'bulk');
  await server.request(`/v1/decisions/${alreadyRejected}/reviews`, {
    method: 'POST',
    token: bob.token,
    json: { verdict: 'reject', reason: 'no' },
  });
  const missing = crypto.randomUUID();

  const ids = [...allowed, notBulk, fourEyes, claimedByBob, alreadyRejected, missing];
  const result = await bulk(alice.token, {
    filter: { ids },
    verdict: 'approve',
    reason: 'weekly triage: all low risk',
  });
  expect(result.status).toBe(200);
  expect(result.body).toMatchObject({ verdict: 'approve', matched: 7, done: 2, refused: 5, more: false });
  const byId = new Map(result.body.results.map((r: any) => [r.decision_id, r]));
  for (const id of allowed) expect(byId.get(id)).toMatchObject({ outcome: 'done', status: 'approved' });
  expect(byId.get(notBulk)).toMatchObject({ outcome: 'refused', code: 'forbidden' });
  expect((byId.get(notBulk) as any).reason).toContain('does not allow bulk approval');
  expect((byId.get(fourEyes) as any).reason).toContain('needs 2 approvals');
  expect(byId.get(claimedByBob)).toMatchObject({ outcome: 'refused', code: 'conflict' });
  expect((byId.get(claimedByBob) as any).reason).toContain(bob.user.email);
  expect(byId.get(alreadyRejected)).toMatchObject({
    outcome: 'refused',
    status: 'rejected',
    code: 'conflict',
  });
  expect(byId.get(missing)).toMatchObject({ outcome: 'refused', code: 'not_found' });

  for (const id of allowed) {
    expect((await decisionRow(db, id)).status).toBe('approved');
    expect(await outboxOf(db, id)).toHaveLength(1);
  }
  for (const id of [notBulk, fourEyes, claimedByBob]) {
    expect((await decisionRow(db, id)).status).toBe('pending_review');
    expect(await outboxOf(db, id)).toHaveLength(0);
  }
  const reviews = await db.selectFrom('reviews').selectAll().where('decision_id', 'in', allowed).execute();
  expect(reviews.map((r) => r.reason)).toEqual([
    'weekly triage: all low risk',
    'weekly triage: all low risk',
  ]);
  const audit = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', 'decision.bulk_review')
    .execute();
  expect(audit).toHaveLength(1);
  expect(audit[0]!.after).toMatchObject({ verdict: 'approve', done: 2, refused: 5 });
});

it('rejects in bulk over a filter, whatever the policy says about bulk approval', async () => {
  const db = database.db;
  const agent = 'bulk-reject-agent';
  const ids = [
    await propose(db, 'single', { agent }),
    await propose(db, 'four', { agent }),
    await propose(db, 'bulk', { agent }),
  ];
  const result = await bulk(alice.token, {
    filter: { agent },
    verdict: 'reject',
    reason: 'campaign cancelled',
  });
  expect(result.status).toBe(200);
  expect(result.body).toMatchObject({ matched: 3, done: 3, refused: 0 });
  for (const id of ids) {
    expect((await decisionRow(db, id)).status).toBe('rejected');
    expect(await outboxOf(db, id)).toHaveLength(0);
  }
});

it('validates the body: a reason, a non-empty filter, at most 500 ids, only approve or reject', async () => {
  expect((await bulk(alice.token, { filter: { agent: 'x' }, verdict: 'approve' })).status).toBe(400);
  expect((await bulk(alice.token, { filter: {}, verdict: 'reject', reason: 'nothing named' })).status).toBe(
    400,
  );
  const tooMany = Array.from({ length: 501 }, () => crypto.randomUUID());
  expect(
    (await bulk(alice.token, { filter: { ids: tooMany }, verdict: 'reject', reason: 'too many' })).status,
  ).toBe(400);
  expect(
    (await bulk(alice.token, { filter: { agent: 'x' }, verdict: 'edit', reason: 'no edits in bulk' })).status,
  ).toBe(400);
  const analyst = await server.tokenFor('analyst');
  expect(
    (await bulk(analyst, { filter: { agent: 'x' }, verdict: 'reject', reason: 'not mine' })).status,
  ).toBe(403);
});

it('takes at most the cap per call and says when more match', async () => {
  const db = database.db;
  const agent = 'bulk-capped';
  for (let i = 0; i < 4; i++) await propose(db, 'bulk', { agent });
  const first = await bulkReview(db, {
    filter: { agent },
    verdict: 'approve',
    reason: 'capped run',
    reviewer: alice.reviewer,
    connector: CONNECTOR,
    cap: 3,
  });
  expect(first).toMatchObject({ matched: 3, done: 3, more: true });
  const second = await bulkReview(db, {
    filter: { agent },
    verdict: 'approve',
    reason: 'capped run',
    reviewer: alice.reviewer,
    connector: CONNECTOR,
    cap: 3,
  });
  expect(second).toMatchObject({ matched: 1, done: 1, more: false });
});
