// Decisions for the review tests: an active policy written straight into `policies`, users with roles and
// tokens, and proposals submitted through submitProposal (the real gate).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Role } from '../../src/auth/roles.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { createUser } from '../../src/auth/users.ts';
import type { Db } from '../../src/db/database.ts';
import type { User } from '../../src/db/schema.ts';
import { parsePolicy } from '../../src/gates/policy.ts';
import { submitProposal, type Proposal } from '../../src/agents/submit-proposal.ts';
import type { Reviewer } from '../../src/review/review-repository.ts';

export const CONNECTOR = 'log';

/** Rules chosen by the proposal's account tier, so each test picks the review it needs. */
export const REVIEW_POLICY = `
description: review tests
rules:
  - name: single
    when: { account_tier: [single] }
    then: { outcome: review, review: { approvals: 1, role: reviewer, deadline: 4h } }
  - name: bulk
    when: { account_tier: [bulk] }
    then: { outcome: review, review: { approvals: 1, role: reviewer, bulk: true } }
  - name: bulk-four-eyes
    when: { account_tier: [bulk-four] }
    then: { outcome: review, review: { approvals: 2, role: reviewer, bulk: true } }
  - name: four-eyes
    when: { account_tier: [four] }
    then: { outcome: review, review: { approvals: 2, role: reviewer } }
  - name: three
    when: { account_tier: [three] }
    then: { outcome: review, review: { approvals: 3, role: reviewer } }
  - name: owner
    when: { account_tier: [owner] }
    then: { outcome: review, review: { role: policy_owner } }
  - name: deny
    when: { account_tier: [deny] }
    then: { outcome: review, review: { on_deadline: deny } }
  - name: escalate
    when: { account_tier: [escalate] }
    then:
      outcome: review
      review:
        deadline: 8h
        escalation:
          - { after: 1h, action: remind }
          - { after: 2h, action: reassign }
          - { after: 3h, action: escalate_to_manager }
  - name: blocked
    when: { account_tier: [blocked] }
    then: { outcome: block, reason: blocked for the test }
  - name: auto
    when: { account_tier: [auto] }
    then: { outcome: auto }
`;

export async function activatePolicy(db: Db, document: string = REVIEW_POLICY): Promise<number> {
  const parsed = parsePolicy(document);
  return db.transaction().execute(async (trx) => {
    await trx.updateTable('policies').set({ status: 'superseded' }).where('status', '=', 'active').execute();
    const next = await sql<{ v: number }>`select coalesce(max(version), 0) + 1 as v from policies`.execute(
      trx,
    );
    const version = next.rows[0]!.v;
    await trx
      .insertInto('policies')
      .values({
        version,
        document,
        parsed: JSON.stringify(parsed),
        status: 'active',
        reason: 'test policy',
        proposed_by: 'test',
      })
      .execute();
    return version;
  });
}

let sequence = 0;

export async function makeUser(
  db: Db,
  roles: Role[],
  extra: { manager_id?: string; capacity?: number; skills?: string[] } = {},
): Promise<{ user: User; token: string; reviewer: Reviewer }> {
  sequence++;
  const user = await createUser(db, {
    email: `${roles.join('-')}-${sequence}-${randomUUID().slice(0, 8)}@review.test`,
    name: `${roles.join('/')} ${sequence}`,
    roles,
    ...extra,
  });
  const { token } = await createToken(db, { user_id: user.id, name: 'review test' });
  return { user, token, reviewer: { id: user.id, name: user.email, roles } };
}

export function proposal(tier: string, overrides: Partial<Proposal> = {}): Proposal {
  const contactId = randomUUID();
  return {
    agent: 'qualification',
    agent_version: '1.0.0',
    subject_type: 'contact',
    subject_id: contactId,
    action: {
      type: 'lead.qualify',
      params: { contact_id: contactId, to_stage: 'sql', reason: 'strong intent' },
    },
    confidence: 0.8,
    expected_value: 1200,
    risk: 0.2,
    explanation: {
      summary: 'visited pricing three times this week',
      for: [{ feature: 'web_intent', phrase: 'pricing visits', contribution: 0.3 }],
      against: [],
    },
    dissent: 'the company may be too small to buy',
    mitigations: ['an SDR checks the account before the first call'],
    inputs: { feature_snapshot: { web_intent: 0.9 }, model_name: 'lead_score', model_version: 1 },
    facts: { account_tier: tier },
    ...overrides,
  };
}

export async function propose(db: Db, tier: string, overrides: Partial<Proposal> = {}, now?: Date) {
  const result = await submitProposal(db, proposal(tier, overrides), {
    connector: CONNECTOR,
    ...(now ? { now } : {}),
  });
  return result.decision_id;
}

export async function outboxOf(db: Db, decisionId: string) {
  return db.selectFrom('outbox').selectAll().where('decision_id', '=', decisionId).execute();
}

export async function decisionRow(db: Db, decisionId: string) {
  return db.selectFrom('decisions').selectAll().where('id', '=', decisionId).executeTakeFirstOrThrow();
}
