// The review inbox over real HTTP: claims, approve / reject / edit, M-of-N, roles, comments, lists and detail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition, SYSTEM } from '../../src/agents/decision-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, decisionRow, makeUser, outboxOf, propose } from './review-fixtures.ts';

let database: TestDatabase;
let server: TestServer;
let alice: Awaited<ReturnType<typeof makeUser>>;
let bob: Awaited<ReturnType<typeof makeUser>>;
let carol: Awaited<ReturnType<typeof makeUser>>;
let owner: Awaited<ReturnType<typeof makeUser>>;
let analyst: Awaited<ReturnType<typeof makeUser>>;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  await activatePolicy(database.db);
  alice = await makeUser(database.db, ['reviewer']);
  bob = await makeUser(database.db, ['reviewer']);
  carol = await makeUser(database.db, ['reviewer']);
  owner = await makeUser(database.db, ['policy_owner']);
  analyst = await makeUser(database.db, ['analyst']);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const claim = (id: string, token: string, json: unknown = {}) =>
  server.request(`/v1/decisions/${id}/claim`, { method: 'POST', token, json });
const review = (id: string, token: string, json: unknown) =>
  server.request(`/v1/decisions/${id}/reviews`, { method: 'POST', token, json });

describe('claims', () => {
  it('leases an item to one reviewer; others get 409 naming the holder and the end of the lease', async () => {
    const id = await propose(database.db, 'single');
    const first = await claim(id, alice.token);
    expect(first.status).toBe(200);
    expect(first.body.claimed_by).toBe(alice.user.id);
    const lease = new Date(first.body.claim_expires_at).getTime() - Date.now();
    expect(lease).toBeGreaterThan(9 * 60_000);
    expect(lease).toBeLessThanOrEqual(10 * 60_000);

    const second = await claim(id, bob.token);
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(alice.user.email);
    expect(second.body.error.details.claimed_by).toBe(alice.user.id);
    expect(second.body.error.details.claim_expires_at).toBe(first.body.claim_expires_at);

    // Reviewing while someone else holds the claim is refused too.
    expect((await review(id, bob.token, { verdict: 'approve' })).status).toBe(409);

    // A claim needs no body (renewing here).
    const renewed = await server.request(`/v1/decisions/${id}/claim`, { method: 'POST', token: alice.token });
    expect(renewed.status).toBe(200);
    expect(new Date(renewed.body.claim_expires_at).getTime()).toBeGreaterThanOrEqual(
      new Date(first.body.claim_expires_at).getTime(),
    );
    // Only the holder releases it.
    expect((await claim(id, bob.token, { release: true })).status).toBe(409);
    const released = await claim(id, alice.token, { release: true });
    expect(released.body.claimed_by).toBeNull();
    expect((await claim(id, bob.token)).status).toBe(200);
    const audit = await database.db
      .selectFrom('audit_log')
      .select('action')
      .where('subject_id', '=', id)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['decision.claim', 'decision.claim_renewed', 'decision.claim_released']),
    );
  });

  it('an expired lease can be taken over', async () => {
    const id = await propose(database.db, 'single');
    await claim(id, alice.token);
    await database.db
      .updateTable('decisions')
      .set({ claim_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute();
    const taken = await claim(id, bob.token);
    expect(taken.status).toBe(200);
    expect(taken.body.claimed_by).toBe(bob.user.id);
  });

  it('only the required role (or admin) can claim; analysts cannot reach the route', async () => {
    const ownersOnly = await propose(database.db, 'owner');
    const refused = await claim(ownersOnly, alice.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('policy_owner');
    expect((await claim(ownersOnly, owner.token)).status).toBe(200);
    expect((await claim(ownersOnly, analyst.token)).status).toBe(403);
    const admin = await server.tokenFor('admin');
    const other = await propose(database.db, 'owner');
    expect((await claim(other, admin)).status).toBe(200);
  });
});

describe('reviews', () => {
  it('approve: approved, the frozen action, exactly one outbox row with that payload', async () => {
    const id = await propose(database.db, 'single');
    const before = await decisionRow(database.db, id);
    await claim(id, alice.token);
    const approved = await review(id, alice.token, { verdict: 'approve', reason: 'looks right' });
    expect(approved.status).toBe(201);
    expect(approved.body.status).toBe('approved');
    expect(approved.body.approvals).toEqual({ given: 1, required: 1 });
    const after = await decisionRow(database.db, id);
    expect(after.status).toBe('approved');
    expect(after.approved_action).toEqual(before.action);
    expect(after.claimed_by).toBeNull();
    const outbox = await outboxOf(database.db, id);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.kind).toBe('action');
    expect(outbox[0]!.connector).toBe(server.config.executionConnector);
    expect(outbox[0]!.payload).toEqual(after.approved_action);
    const [row] = await database.db.selectFrom('reviews').selectAll().where('decision_id', '=', id).execute();
    expect(row!.seconds_to_decide).toBeGreaterThanOrEqual(0);
    expect(row!.seconds_to_decide).toBeLessThan(60);

    // Not pending any more: 409, and still one outbox row.
    const again = await review(id, bob.token, { verdict: 'approve' });
    expect(again.status).toBe(409);
    expect(await outboxOf(database.db, id)).toHaveLength(1);
  });

  it('edit: edited_approved, the edited action frozen, its diff stored; an invalid edit is 400 naming the field', async () => {
    const id = await propose(database.db, 'single');
    const proposed = (await decisionRow(database.db, id)).action as { params: Record<string, unknown> };

    const invalid = await review(id, alice.token, {
      verdict: 'edit',
      reason: 'nurture instead',
      action: { type: 'lead.qualify', params: { ...proposed.params, to_stage: 'customer' } },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.fields.map((f: any) => f.field)).toContain('action.params.to_stage');

    const otherType = await review(id, alice.token, {
      verdict: 'edit',
      reason: 'x',
      action: {
        type: 'nba.recommend',
        params: { contact_id: proposed.params.contact_id, action: 'email', owner_id: null },
      },
    });
    expect(otherType.status).toBe(400);
    expect(otherType.body.error.details.fields[0].field).toBe('action.type');

    const otherSubject = await review(id, alice.token, {
      verdict: 'edit',
      reason: 'x',
      action: { type: 'lead.qualify', params: { ...proposed.params, contact_id: crypto.randomUUID() } },
    });
    expect(otherSubject.status).toBe(400);
    expect(otherSubject.body.error.details.fields[0].field).toBe('action.params.contact_id');

    const noReason = await review(id, alice.token, {
      verdict: 'edit',
      action: { type: 'lead.qualify', params: { ...proposed.params, to_stage: 'nurture' } },
    });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.message).toContain('body.reason');

    const edited = { type: 'lead.qualify', params: { ...proposed.params, to_stage: 'nurture' } };
    const ok = await review(id, alice.token, {
      verdict: 'edit',
      reason: 'too early for sales',
      action: edited,
    });
    expect(ok.status).toBe(201);
    expect(ok.body.status).toBe('edited_approved');
    expect(ok.body.diff).toEqual([{ field: 'params.to_stage', before: 'sql', after: 'nurture' }]);
    const after = await decisionRow(database.db, id);
    expect(after.status).toBe('edited_approved');
    expect(after.edited).toBe(true);
    expect(after.approved_action).toEqual(edited);
    const outbox = await outboxOf(database.db, id);
    expect(outbox.map((o) => o.payload)).toEqual([edited]);

    const detail = await server.request(`/v1/decisions/${id}`, { token: analyst.token });
    expect(detail.status).toBe(200);
    expect(detail.body.approved_action).toEqual(edited);
    expect(detail.body.diff).toEqual([{ field: 'params.to_stage', before: 'sql', after: 'nurture' }]);
    expect(detail.body.reviews[0].diff).toEqual(detail.body.diff);
    expect(detail.body.transitions.map((t: any) => t.to_status)).toEqual([
      'proposed',
      'pending_review',
      'edited_approved',
    ]);
  });

  it('reject needs a reason; a reject rejects and writes no outbox row', async () => {
    const id = await propose(database.db, 'four');
    const noReason = await review(id, alice.token, { verdict: 'reject' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details.fields[0].field).toBe('body.reason');
    expect((await review(id, alice.token, { verdict: 'approve' })).body.status).toBe('pending_review');
    const rejected = await review(id, bob.token, { verdict: 'reject', reason: 'wrong account' });
    expect(rejected.body.status).toBe('rejected');
    expect((await decisionRow(database.db, id)).status).toBe('rejected');
    expect(await outboxOf(database.db, id)).toHaveLength(0);
  });

  it('M-of-N: two approvals need two distinct reviewers holding the role', async () => {
    const id = await propose(database.db, 'four');
    const first = await review(id, alice.token, { verdict: 'approve' });
    expect(first.body).toMatchObject({ status: 'pending_review', approvals: { given: 1, required: 2 } });
    const twice = await review(id, alice.token, { verdict: 'approve' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toContain('distinct reviewers');
    const wrongRole = await review(id, owner.token, { verdict: 'approve' });
    expect(wrongRole.status).toBe(403);
    expect((await review(id, analyst.token, { verdict: 'approve' })).status).toBe(403);
    expect((await decisionRow(database.db, id)).status).toBe('pending_review');
    expect(await outboxOf(database.db, id)).toHaveLength(0);

    const second = await review(id, bob.token, { verdict: 'approve' });
    expect(second.body).toMatchObject({ status: 'approved', approvals: { given: 2, required: 2 } });
    expect(await outboxOf(database.db, id)).toHaveLength(1);
  });

  it('an edit after an approval resets the count: approvals of the earlier version do not count', async () => {
    const id = await propose(database.db, 'four');
    const proposed = (await decisionRow(database.db, id)).action as { params: Record<string, unknown> };
    await review(id, alice.token, { verdict: 'approve' });
    const edited = { type: 'lead.qualify', params: { ...proposed.params, to_stage: 'nurture' } };
    const edit = await review(id, bob.token, { verdict: 'edit', reason: 'nurture first', action: edited });
    expect(edit.body).toMatchObject({ status: 'pending_review', approvals: { given: 1, required: 2 } });
    // Approving with the version one loaded before the edit is refused: the action changed.
    const stale = await review(id, carol.token, { verdict: 'approve', action: proposed });
    expect(stale.status).toBe(409);
    const detail = await server.request(`/v1/decisions/${id}`, { token: carol.token });
    expect(detail.body.current_action).toEqual(edited);
    expect(detail.body.approvals).toMatchObject({ required: 2, given: 1, approvers: [bob.user.id] });
    const third = await review(id, carol.token, { verdict: 'approve', action: edited });
    expect(third.body.status).toBe('edited_approved');
    const after = await decisionRow(database.db, id);
    expect(after.approved_action).toEqual(edited);
    expect((await outboxOf(database.db, id)).map((o) => o.payload)).toEqual([edited]);
  });

  it('expired, rejected, blocked and withdrawn decisions are never approved', async () => {
    const blocked = await propose(database.db, 'blocked');
    expect((await decisionRow(database.db, blocked)).status).toBe('blocked');
    const withdrawn = await propose(database.db, 'single');
    await database.db
      .transaction()
      .execute((trx) =>
        transition(trx, { decisionId: withdrawn, from: ['pending_review'], to: 'withdrawn', actor: SYSTEM }),
      );
    const expired = await propose(database.db, 'single');
    await database.db
      .transaction()
      .execute((trx) =>
        transition(trx, { decisionId: expired, from: ['pending_review'], to: 'expired', actor: SYSTEM }),
      );
    const rejected = await propose(database.db, 'single');
    await review(rejected, alice.token, { verdict: 'reject', reason: 'no' });
    for (const id of [blocked, withdrawn, expired, rejected]) {
      const refused = await review(id, bob.token, { verdict: 'approve' });
      expect(refused.status).toBe(409);
      expect((await claim(id, bob.token)).status).toBe(409);
      expect(await outboxOf(database.db, id)).toHaveLength(0);
      // The state machine itself refuses the move.
      await expect(
        database.db.transaction().execute((trx) =>
          transition(trx, {
            decisionId: id,
            from: ['expired', 'rejected', 'blocked', 'withdrawn'],
            to: 'approved',
            actor: SYSTEM,
          }),
        ),
      ).rejects.toThrow(/No move/);
    }
  });

  it('a review after the deadline passed is refused even before the deadlines job ran', async () => {
    const id = await propose(database.db, 'single');
    await database.db
      .updateTable('decisions')
      .set({ deadline_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute();
    const late = await review(id, alice.token, { verdict: 'approve' });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain('deadline');
    expect(await outboxOf(database.db, id)).toHaveLength(0);
  });

  it('unknown decisions are 404', async () => {
    expect((await review(crypto.randomUUID(), alice.token, { verdict: 'approve' })).status).toBe(404);
    expect(
      (await server.request(`/v1/decisions/${crypto.randomUUID()}`, { token: alice.token })).status,
    ).toBe(404);
  });
});

describe('concurrency', () => {
  it('two reviewers claiming at once: one gets the lease, the other a 409', async () => {
    const id = await propose(database.db, 'single');
    const results = await Promise.all([claim(id, alice.token), claim(id, bob.token), claim(id, carol.token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
  });

  it('simultaneous approvals: counted once per reviewer, one outbox row', async () => {
    const id = await propose(database.db, 'four');
    const same = await Promise.all([
      review(id, alice.token, { verdict: 'approve' }),
      review(id, alice.token, { verdict: 'approve' }),
    ]);
    expect(same.map((r) => r.status).sort()).toEqual([201, 409]);
    expect((await decisionRow(database.db, id)).status).toBe('pending_review');
    const other = await propose(database.db, 'four');
    const both = await Promise.all([
      review(other, alice.token, { verdict: 'approve' }),
      review(other, bob.token, { verdict: 'approve' }),
      review(other, carol.token, { verdict: 'approve' }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 201, 409]);
    expect((await decisionRow(database.db, other)).status).toBe('approved');
    expect(await outboxOf(database.db, other)).toHaveLength(1);
  });
});

describe('comments', () => {
  it('adds comments (max 5000 characters) and lists them in the detail', async () => {
    const id = await propose(database.db, 'single');
    const added = await server.request(`/v1/decisions/${id}/comments`, {
      method: 'POST',
      token: alice.token,
      json: { body: 'Checked the account: 40 employees, fine.' },
    });
    expect(added.status).toBe(201);
    expect(added.body.author).toBe(alice.user.email);
    const tooLong = await server.request(`/v1/decisions/${id}/comments`, {
      method: 'POST',
      token: alice.token,
      json: { body: 'x'.repeat(5001) },
    });
    expect(tooLong.status).toBe(400);
    expect(
      (
        await server.request(`/v1/decisions/${id}/comments`, {
          method: 'POST',
          token: analyst.token,
          json: { body: 'hi' },
        })
      ).status,
    ).toBe(403);
    const detail = await server.request(`/v1/decisions/${id}`, { token: analyst.token });
    expect(detail.body.comments.map((c: any) => c.body)).toEqual([
      'Checked the account: 40 employees, fine.',
    ]);
  });
});

describe('the inbox list', () => {
  it('filters by status, assignee, mine, agent, action, subject, ranges and due time; sorts; paginates', async () => {
    const db = database.db;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await propose(db, 'single', {
          agent: 'listing',
          confidence: 0.5 + i / 10,
          expected_value: i === 2 ? null : 100 * i,
        }),
      );
    }
    const other = await propose(db, 'single', { agent: 'other', confidence: 0.99 });
    await db
      .updateTable('decisions')
      .set({ assigned_to: alice.user.id })
      .where('id', 'in', ids.slice(0, 2))
      .execute();
    await db
      .updateTable('decisions')
      .set({ assigned_to: bob.user.id })
      .where('id', 'in', [...ids.slice(2), other])
      .execute();

    const list = (query: string, token = alice.token) => server.request(`/v1/decisions?${query}`, { token });
    const mine = await list('status=pending_review&mine=true&agent=listing');
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((d: any) => d.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(mine.body.items[0].approvals_given).toBe(0);
    expect(mine.body.items[0].inputs).toBeUndefined();
    expect((await list(`assigned_to=${bob.user.id}&agent=listing`)).body.items).toHaveLength(3);
    expect((await list('agent=listing&confidence_min=0.65&confidence_max=0.85')).body.items).toHaveLength(2);
    expect((await list('action_type=lead.qualify&agent=other')).body.items.map((d: any) => d.id)).toEqual([
      other,
    ]);
    const subject = (await decisionRow(db, other)).subject_id;
    const bySubject = (await list(`subject_type=contact&subject_id=${subject}`)).body.items;
    expect(bySubject).toHaveLength(1);
    expect(bySubject[0].subject_name).toBeNull(); // the fixture's subject is no contact we know
    await db
      .insertInto('contacts')
      .values({ id: subject, email: 'chloe@acme.example', first_name: 'Chloe', last_name: 'Haddad' })
      .execute();
    expect((await list(`subject_id=${subject}`)).body.items[0].subject_name).toBe('Chloe Haddad');
    expect((await list('agent=listing&expected_value_min=150')).body.items).toHaveLength(2);
    const dueSoon = new Date(Date.now() + 5 * 3_600_000).toISOString();
    expect((await list(`agent=listing&due_before=${encodeURIComponent(dueSoon)}`)).body.items).toHaveLength(
      5,
    );
    expect(
      (await list(`agent=listing&due_before=${encodeURIComponent(new Date().toISOString())}`)).body.items,
    ).toHaveLength(0);

    const byConfidence = await list('agent=listing&sort=-confidence');
    expect(byConfidence.body.items.map((d: any) => d.id)).toEqual([...ids].reverse());
    // Paging by expected value: nulls last, every item once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await list(
        `agent=listing&sort=expected_value&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((d: any) => d.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([ids[0], ids[1], ids[3], ids[4], ids[2]]);
    const sortedByDue = await list('agent=listing&sort=due&limit=3');
    const page2 = await list(`agent=listing&sort=due&limit=3&cursor=${sortedByDue.body.next_cursor}`);
    expect([...sortedByDue.body.items, ...page2.body.items].map((d: any) => d.id).sort()).toEqual(
      [...ids].sort(),
    );
    expect((await list(`agent=listing&sort=created&cursor=${sortedByDue.body.next_cursor}`)).status).toBe(
      400,
    );
    expect((await list('cursor=nonsense')).status).toBe(400);
    expect((await list(`mine=true&assigned_to=${bob.user.id}`)).status).toBe(400);
    expect((await list('status=pending_review', analyst.token)).status).toBe(200);
    expect((await server.request('/v1/decisions')).status).toBe(401);
  });
});

it('documents the routes in the OpenAPI document', async () => {
  const openapi = await server.request('/openapi.json', { token: analyst.token });
  expect(openapi.status).toBe(200);
  expect(Object.keys(openapi.body.paths)).toEqual(
    expect.arrayContaining([
      '/v1/decisions',
      '/v1/decisions/{id}',
      '/v1/decisions/{id}/claim',
      '/v1/decisions/{id}/reviews',
      '/v1/decisions/bulk-reviews',
      '/v1/decisions/{id}/comments',
      '/v1/decisions/{id}/trail',
    ]),
  );
});
