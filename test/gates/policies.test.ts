import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitProposal, type Proposal } from '../../src/agents/submit-proposal.ts';
import { ensureDefaultPolicy } from '../../src/gates/policies.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let database: TestDatabase;
let server: TestServer;
let contactId: string;

const AUTO_ROUTING = `
rules:
  - name: auto-routing
    when: { action_type: [lead.assign_owner], confidence_at_least: 0.6 }
    then: { outcome: auto }
`;

function proposal(over: Partial<Proposal> = {}): Proposal {
  return {
    agent: 'routing',
    agent_version: '1.0.0',
    subject_type: 'contact',
    subject_id: contactId,
    action: {
      type: 'lead.assign_owner',
      params: { contact_id: contactId, owner_id: contactId, previous_owner_id: null },
    },
    confidence: 0.9,
    explanation: { summary: 'best fit' },
    dissent: 'the rep is busy',
    mitigations: ['reassign later'],
    inputs: { test: true },
    ...over,
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  const row = await database.db
    .insertInto('contacts')
    .values({ email: 'gate@test.com' })
    .returning('id')
    .executeTakeFirstOrThrow();
  contactId = row.id;
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('policy versions', () => {
  it('without an active policy, every proposal waits for a person', async () => {
    const result = await submitProposal(database.db, proposal(), { connector: 'log' });
    expect(result.status).toBe('pending_review');
    expect(await database.db.selectFrom('outbox').selectAll().execute()).toHaveLength(0);
  });

  it('a change is a proposal another policy owner must approve; the proposer cannot', async () => {
    const owner = await server.tokenFor('policy_owner');
    const proposed = await server.request('/v1/policies', {
      method: 'POST',
      token: owner,
      json: { document: AUTO_ROUTING, reason: 'automate routing' },
    });
    expect(proposed.status).toBe(201);
    const self = await server.request(`/v1/policies/${proposed.body.version}/decision`, {
      method: 'POST',
      token: owner,
      json: { approve: true, reason: 'mine' },
    });
    expect(self.status).toBe(403);
    const reviewer = await server.request(`/v1/policies/${proposed.body.version}/decision`, {
      method: 'POST',
      token: await server.tokenFor('reviewer'),
      json: { approve: true, reason: 'x' },
    });
    expect(reviewer.status).toBe(403);
    const bad = await server.request('/v1/policies', {
      method: 'POST',
      token: owner,
      json: { document: 'rules: [{ name: x, then: { outcome: maybe } }]', reason: 'bad' },
    });
    expect(bad.status).toBe(400);
    // A second policy owner approves.
    const { createUser } = await import('../../src/auth/users.ts');
    const { createToken } = await import('../../src/auth/tokens.ts');
    const other = await createUser(database.db, {
      email: 'owner2@test.com',
      name: 'Owner Two',
      roles: ['policy_owner'],
    });
    const otherToken = (await createToken(database.db, { user_id: other.id })).token;
    const approved = await server.request(`/v1/policies/${proposed.body.version}/decision`, {
      method: 'POST',
      token: otherToken,
      json: { approve: true, reason: 'reviewed' },
    });
    expect(approved.body).toMatchObject({ status: 'active' });
    const diff = await server.request(`/v1/policies/${proposed.body.version}/diff`, { token: owner });
    expect(diff.status).toBe(200);
    const trail = await database.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('subject_type', '=', 'policy')
      .orderBy('id')
      .execute();
    expect(trail.map((t) => t.action)).toEqual(['policy.propose', 'policy.activate']);
  });

  it('with the new policy a confident routing executes: approved payload frozen, outbox row written with it', async () => {
    const other = await database.db
      .insertInto('contacts')
      .values({ email: 'gate2@test.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const result = await submitProposal(
      database.db,
      proposal({
        subject_id: other.id,
        action: {
          type: 'lead.assign_owner',
          params: { contact_id: other.id, owner_id: other.id, previous_owner_id: null },
        },
      }),
      { connector: 'log' },
    );
    expect(result.status).toBe('auto_approved');
    const decision = await database.db
      .selectFrom('decisions')
      .selectAll()
      .where('id', '=', result.decision_id)
      .executeTakeFirstOrThrow();
    const outbox = await database.db
      .selectFrom('outbox')
      .selectAll()
      .where('decision_id', '=', result.decision_id)
      .execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.payload).toEqual(decision.approved_action);
    expect(decision.policy_version).toBeGreaterThan(0);
  });

  it('the circuit breaker sends everything to review, and the simulation shows what a candidate would do', async () => {
    const owner = await server.tokenFor('policy_owner');
    const opened = await server.request('/v1/circuit-breaker', {
      method: 'PUT',
      token: owner,
      json: { open: true, reason: 'drift alarm under investigation' },
    });
    expect(opened.body.open).toBe(true);
    const third = await database.db
      .insertInto('contacts')
      .values({ email: 'gate3@test.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const result = await submitProposal(
      database.db,
      proposal({
        subject_id: third.id,
        action: {
          type: 'lead.assign_owner',
          params: { contact_id: third.id, owner_id: third.id, previous_owner_id: null },
        },
      }),
      { connector: 'log' },
    );
    expect(result.status).toBe('pending_review');
    expect(result.gate).toMatchObject({ note: expect.stringMatching(/circuit breaker/) });
    await server.request('/v1/circuit-breaker', {
      method: 'PUT',
      token: owner,
      json: { open: false, reason: 'resolved' },
    });

    const simulation = await server.request('/v1/policies/simulate', {
      method: 'POST',
      token: await server.tokenFor('analyst'),
      json: { document: AUTO_ROUTING, since: '1d' },
    });
    expect(simulation.body.proposals).toBe(3);
    expect(simulation.body.candidate).toEqual({ auto: 3, review: 0, block: 0 });
    const strict = await server.request('/v1/policies/simulate', {
      method: 'POST',
      token: await server.tokenFor('analyst'),
      json: { document: 'defaults: { outcome: block }', since: '1d' },
    });
    expect(strict.body.candidate).toEqual({ auto: 0, review: 0, block: 3 });
  });

  it('dedupes: the same proposal twice is unchanged; a different one withdraws the pending one', async () => {
    const c = await database.db
      .insertInto('contacts')
      .values({ email: 'dedupe@test.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const base = proposal({
      subject_id: c.id,
      confidence: 0.3,
      action: {
        type: 'lead.assign_owner',
        params: { contact_id: c.id, owner_id: c.id, previous_owner_id: null },
      },
    });
    const first = await submitProposal(database.db, base, { connector: 'log' });
    expect(first.status).toBe('pending_review');
    expect((await submitProposal(database.db, base, { connector: 'log' })).outcome).toBe('unchanged');
    const other = await database.db
      .insertInto('contacts')
      .values({ email: 'dedupe-owner@test.com' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const changed = await submitProposal(
      database.db,
      {
        ...base,
        action: {
          type: 'lead.assign_owner',
          params: { contact_id: c.id, owner_id: other.id, previous_owner_id: null },
        },
      },
      { connector: 'log' },
    );
    expect(changed.outcome).toBe('created');
    const old = await database.db
      .selectFrom('decisions')
      .select('status')
      .where('id', '=', first.decision_id)
      .executeTakeFirstOrThrow();
    expect(old.status).toBe('withdrawn');
  });

  it('first start installs the shipped default policy once', async () => {
    const fresh = await createTestDatabase();
    try {
      expect(await ensureDefaultPolicy(fresh.db)).toBe(1);
      expect(await ensureDefaultPolicy(fresh.db)).toBeNull();
    } finally {
      await fresh.drop();
    }
  });
});
