// The agents on a simulated company: every proposal complete and traceable, reruns deduplicated, waiting
// proposals withdrawn when the picture changes, routing within territory and capacity and never worse than
// first-come. No policy is active, so everything waits for review (the gate's business, checked only in passing).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentContexts, loadAgentEnvironment } from '../../src/agents/context.ts';
import { planRouting, territoryMatches } from '../../src/agents/routing-agent.ts';
import { routeLeads, runAgents, type AgentRunSummary } from '../../src/agents/run-agents.ts';
import { WITHDRAWN_REASON } from '../../src/agents/withdraw-proposals.ts';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { scoreContacts } from '../../src/models/score-contacts.ts';
import { trainLeadModel } from '../../src/models/train-lead-model.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
const now = new Date('2026-06-01T00:00:00Z');
const connector = 'log';
let modelVersion: number | null = null;

async function allContactIds(): Promise<string[]> {
  const rows = await database.db
    .selectFrom('contacts')
    .select('id')
    .where('merged_into_id', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

beforeAll(async () => {
  database = await createTestDatabase();
  await runSimulation({
    db: database.db,
    params: { seed: 11, accounts: 160, months: 12, now },
    sink: inProcessSink(database.db),
  });
  const trained = await trainLeadModel(database.db, { kind: 'logistic', until: now, by: 'tester' });
  modelVersion = trained.version;
  await scoreContacts(database.db, await allContactIds(), { asOf: now });
}, 300_000);
afterAll(async () => database?.drop());

function byAgent(summaries: AgentRunSummary[], name: string): AgentRunSummary {
  return summaries.find((s) => s.agent === name)!;
}

describe('per-contact agents', () => {
  let first: Awaited<ReturnType<typeof runAgents>>;

  it('create complete proposals for open leads, all waiting for review without a policy', async () => {
    first = await runAgents(database.db, {
      agents: ['qualification', 'followup-timing', 'next-best-action'],
      connector,
      now,
    });
    expect(first.errors).toEqual([]);
    for (const name of ['qualification', 'followup-timing', 'next-best-action']) {
      const summary = byAgent(first.agents, name);
      expect(summary.created, name).toBeGreaterThan(10);
      expect(summary.statuses).toEqual({ pending_review: summary.created });
    }
    const decisions = await database.db.selectFrom('decisions').selectAll().execute();
    expect(decisions.length).toBe(first.agents.reduce((n, s) => n + s.created, 0));
    for (const d of decisions) {
      expect(d.confidence).toBeGreaterThanOrEqual(0);
      expect(d.confidence).toBeLessThanOrEqual(1);
      expect(d.dissent.trim().length).toBeGreaterThan(10);
      expect((d.mitigations as string[]).length).toBeGreaterThan(0);
      expect(d.expected_value).not.toBeNull();
      expect(d.risk).not.toBeNull();
      const explanation = d.explanation as { summary: string; for: unknown[]; against: unknown[] };
      expect(explanation.summary.length).toBeGreaterThan(10);
      const inputs = d.inputs as Record<string, any>;
      expect(Object.keys(inputs['feature_snapshot']).length).toBeGreaterThan(10);
      expect(inputs['model']).toMatchObject({ name: 'lead_score', version: modelVersion, is_prior: false });
      expect(inputs['agent']).toEqual({ name: d.agent, version: d.agent_version });
      expect(Array.isArray(inputs['event_ids'])).toBe(true);
      expect(d.status).toBe('pending_review');
    }
    // Qualification only for leads and MQLs; follow-ups only with an owner, inside the cadence.
    const qualified = decisions.filter((d) => d.agent === 'qualification');
    const stages = await database.db
      .selectFrom('contacts')
      .select(['id', 'lifecycle_stage'])
      .where(
        'id',
        'in',
        qualified.map((d) => d.subject_id),
      )
      .execute();
    expect(new Set(stages.map((s) => s.lifecycle_stage))).toEqual(new Set(['lead', 'mql']));
    const toStages = new Set(qualified.map((d) => (d.action as any).params.to_stage));
    expect(toStages.has('nurture')).toBe(true);
    const followups = decisions.filter((d) => d.agent === 'followup-timing');
    for (const f of followups) {
      const at = new Date((f.action as any).params.at);
      expect(at.getTime()).toBeGreaterThan(now.getTime());
    }
    const actions = new Set(
      decisions.filter((d) => d.agent === 'next-best-action').map((d) => (d.action as any).params.action),
    );
    expect(actions.size).toBeGreaterThan(1);
  });

  it('do not duplicate on a second run: everything is unchanged', async () => {
    const second = await runAgents(database.db, {
      agents: ['qualification', 'followup-timing', 'next-best-action'],
      connector,
      now,
    });
    for (const s of second.agents) {
      const before = byAgent(first.agents, s.agent);
      expect(s.created, s.agent).toBe(0);
      expect(s.withdrawn, s.agent).toBe(0);
      expect(s.unchanged, s.agent).toBe(before.created);
    }
    const open = await sql<{ n: string }>`
      select count(*) as n from (
        select subject_id, action_kind from decisions where status = 'pending_review'
        group by 1, 2 having count(*) > 1) x`.execute(database.db);
    expect(Number(open.rows[0]!.n)).toBe(0);
  });

  it('withdraws a waiting proposal that no longer applies, and supersedes one that changed', async () => {
    const pending = await database.db
      .selectFrom('decisions')
      .select(['id', 'subject_id', 'action'])
      .where('agent', '=', 'qualification')
      .where('status', '=', 'pending_review')
      .orderBy('id')
      .limit(2)
      .execute();
    const [moot, changed] = pending;
    // The contact became an SQL in the CRM meanwhile: qualification has nothing left to say.
    await database.db
      .updateTable('contacts')
      .set({ lifecycle_stage: 'sql' })
      .where('id', '=', moot!.subject_id)
      .execute();
    // The other one's score jumped: a different proposal replaces the waiting one.
    await database.db
      .updateTable('lead_scores')
      .set({ probability: 0.97 })
      .where('contact_id', '=', changed!.subject_id)
      .where('alias', '=', 'champion')
      .execute();
    const result = await runAgents(database.db, {
      agents: ['qualification'],
      contactIds: [moot!.subject_id, changed!.subject_id],
      connector,
      now,
    });
    expect(byAgent(result.agents, 'qualification')).toMatchObject({ withdrawn: 1, created: 1 });

    const mootRow = await database.db
      .selectFrom('decisions')
      .select('status')
      .where('id', '=', moot!.id)
      .executeTakeFirstOrThrow();
    expect(mootRow.status).toBe('withdrawn');
    const transition = await database.db
      .selectFrom('decision_transitions')
      .select(['reason', 'actor'])
      .where('decision_id', '=', moot!.id)
      .where('to_status', '=', 'withdrawn')
      .executeTakeFirstOrThrow();
    expect(transition).toEqual({ reason: WITHDRAWN_REASON, actor: 'agent:qualification' });

    // Both were created at the same (simulated) moment: tell them apart by status.
    const changedRows = await database.db
      .selectFrom('decisions')
      .select(['id', 'status', 'action'])
      .where('subject_id', '=', changed!.subject_id)
      .where('agent', '=', 'qualification')
      .execute();
    expect(changedRows.map((r) => r.status).sort()).toEqual(['pending_review', 'withdrawn']);
    expect(changedRows.find((r) => r.status === 'withdrawn')!.id).toBe(changed!.id);
    expect((changedRows.find((r) => r.status === 'pending_review')!.action as any).params.to_stage).toBe(
      'sql',
    );
  });
});

describe('routing', () => {
  let unassigned: string[];

  beforeAll(async () => {
    // The simulator leaves its newest inbound leads unrouted; give them their account's owner so this test
    // controls exactly which leads wait for routing.
    await sql`update contacts c set owner_id = a.owner_id from accounts a
              where c.account_id = a.id and c.owner_id is null`.execute(database.db);
    // New leads without an owner: unassign a slice of the simulated leads.
    const rows = await database.db
      .selectFrom('contacts')
      .select('id')
      .where('lifecycle_stage', 'in', ['lead', 'mql'])
      .where('merged_into_id', 'is', null)
      .orderBy('id')
      .limit(40)
      .execute();
    unassigned = rows.map((r) => r.id);
    await database.db.updateTable('contacts').set({ owner_id: null }).where('id', 'in', unassigned).execute();
    // One rep with room for exactly one more lead.
    const reps = await loadAgentEnvironment(database.db, now);
    const tight = reps.reps.find((r) => r.territoryRules?.regions?.includes('NA'))!;
    await database.db
      .updateTable('users')
      .set({ capacity: tight.load + 1 })
      .where('id', '=', tight.id)
      .execute();
  });

  it('solves the batch within territory, capacity and fairness, never worse than greedy', async () => {
    const env = await loadAgentEnvironment(database.db, now);
    const contexts = [...(await loadAgentContexts(database.db, unassigned, env)).values()];
    const plan = planRouting(contexts, env);
    expect(plan.optimal.totalCost).toBeLessThanOrEqual(plan.greedy.totalCost + 1e-9);

    const { summary, errors } = await routeLeads(database.db, { connector, now });
    expect(errors).toEqual([]);
    expect(summary.created).toBeGreaterThan(10);
    expect(summary.created).toBe(plan.optimal.assigned);
    expect(summary.batch!['optimal_value'] as number).toBeGreaterThanOrEqual(
      summary.batch!['greedy_value'] as number,
    );

    const decisions = await database.db
      .selectFrom('decisions')
      .selectAll()
      .where('agent', '=', 'routing')
      .where('status', '=', 'pending_review')
      .execute();
    expect(decisions).toHaveLength(summary.created);
    const perRep = new Map<string, number>();
    for (const d of decisions) {
      const ownerId = (d.action as any).params.owner_id as string;
      perRep.set(ownerId, (perRep.get(ownerId) ?? 0) + 1);
      const rep = env.repsById.get(ownerId)!;
      const context = contexts.find((c) => c.contact.id === d.subject_id)!;
      expect(territoryMatches(rep.territoryRules, context.account, context.contact)).toBe(true);
      expect((d.inputs as any).candidates.length).toBeGreaterThan(0);
      expect(d.dissent.length).toBeGreaterThan(10);
    }
    for (const [repId, count] of perRep) {
      const rep = env.repsById.get(repId)!;
      expect(count).toBeLessThanOrEqual(Math.max(0, rep.capacity - rep.load));
      expect(count).toBeLessThanOrEqual(plan.fairnessCap);
    }
    const tight = env.reps.find((r) => r.capacity === r.load + 1)!;
    expect(perRep.get(tight.id) ?? 0).toBeLessThanOrEqual(1);

    // A rerun changes nothing.
    const again = await routeLeads(database.db, { connector, now });
    expect(again.summary).toMatchObject({ created: 0, withdrawn: 0, unchanged: summary.created });
  });

  it('withdraws a waiting assignment once the contact got an owner another way', async () => {
    const pending = await database.db
      .selectFrom('decisions')
      .select(['id', 'subject_id', 'action'])
      .where('agent', '=', 'routing')
      .where('status', '=', 'pending_review')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await database.db
      .updateTable('contacts')
      .set({ owner_id: (pending.action as any).params.owner_id })
      .where('id', '=', pending.subject_id)
      .execute();
    const { summary } = await routeLeads(database.db, { connector, now });
    expect(summary.withdrawn).toBe(1);
    const row = await database.db
      .selectFrom('decisions')
      .select('status')
      .where('id', '=', pending.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('withdrawn');
  });
});
