// What the browser tests look at: named contacts at a named account, with proposals about them submitted through
// the real gate (the review tests' policy: the account tier in the facts picks the review), and people.
import { randomUUID } from 'node:crypto';
import { submitProposal } from '../../src/agents/submit-proposal.ts';
import type { Db } from '../../src/db/database.ts';
import { CONNECTOR, proposal } from '../review/review-fixtures.ts';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson'];

export async function createAccount(db: Db, name = 'Acme Robotics'): Promise<string> {
  const domain = `${name.toLowerCase().replace(/[^a-z]+/g, '')}-${randomUUID().slice(0, 6)}.example`;
  const row = await db
    .insertInto('accounts')
    .values({
      name,
      domain,
      industry: 'manufacturing',
      size_band: 'mid_market',
      region: 'EMEA',
      country: 'DE',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

let sequence = 0;

export async function createNamedContact(db: Db, accountId: string): Promise<{ id: string; name: string }> {
  const i = sequence++;
  const first = FIRST[i % FIRST.length]!;
  const last = LAST[Math.floor(i / FIRST.length + i) % LAST.length]!;
  const row = await db
    .insertInto('contacts')
    .values({
      account_id: accountId,
      email: `${first}.${last}.${randomUUID().slice(0, 6)}@acme.example`.toLowerCase(),
      first_name: first,
      last_name: last,
      title: 'Head of Operations',
      country: 'DE',
      lifecycle_stage: 'mql',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, name: `${first} ${last}` };
}

/**
 * A lead.qualify proposal about a real contact; `tier` picks the policy rule (single: one approver with a 4 h
 * deadline; bulk: one approver, bulk allowed; four: two approvers).
 */
export async function proposeQualify(
  db: Db,
  tier: string,
  contactId: string,
  options: { confidence?: number; expectedValue?: number } = {},
): Promise<string> {
  const base = proposal(tier);
  const result = await submitProposal(
    db,
    {
      ...base,
      subject_id: contactId,
      action: {
        type: 'lead.qualify',
        params: { contact_id: contactId, to_stage: 'sql', reason: 'visited pricing three times this week' },
      },
      confidence: options.confidence ?? base.confidence,
      expected_value: options.expectedValue ?? base.expected_value,
      explanation: {
        summary: 'Visited the pricing page three times this week and replied to the last email.',
        for: [
          { feature: 'web_intent', phrase: 'three pricing-page visits in 7 days', contribution: 0.42 },
          { feature: 'email_response_rate', phrase: 'replied to 2 of 4 emails', contribution: 0.21 },
        ],
        against: [{ feature: 'account_maturity', phrase: 'the account is 3 weeks old', contribution: -0.12 }],
      },
      dissent: 'The company may be too small to buy the enterprise plan.',
      mitigations: ['An SDR checks the account before the first call.'],
      alternatives: [
        {
          action: 'lead.qualify:nurture',
          expected_value: null,
          why_not: 'the intent signals are recent and strong',
        },
      ],
    },
    { connector: CONNECTOR },
  );
  return result.decision_id;
}
