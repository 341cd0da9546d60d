// Runs agents and hands their proposals to the gate. Per-contact agents run over given contacts (after
// rescoring, or by hand) or over every open lead (the scheduled sweep); routing runs as one batch over the
// leads without an owner. Dedup and "a different proposal withdraws the waiting one" happen in submitProposal;
// here, an agent that now proposes nothing for a contact has its waiting proposal withdrawn.
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { isBatchAgent, type Agent, type AgentContext, type Proposal } from './agent.ts';
import { liveContactIds, loadAgentContexts, loadAgentEnvironment, OPEN_LEAD_STAGES } from './context.ts';
import { getAgents } from './registry.ts';
import { routingAgent, MAX_BATCH_LEADS } from './routing-agent.ts';
import { submitProposal, type SubmitResult } from './submit-proposal.ts';
import { withdrawStaleProposals } from './withdraw-proposals.ts';

/** Contacts loaded and decided per page of a sweep. */
export const SWEEP_PAGE = 500;

export interface AgentRunSummary {
  agent: string;
  version: string;
  contacts: number;
  created: number;
  unchanged: number;
  in_flight: number;
  withdrawn: number;
  /** Contacts the agent proposes nothing for. */
  no_proposal: number;
  errors: number;
  /** Where the new proposals went: pending_review, auto_approved, blocked. */
  statuses: Record<string, number>;
  /** Batch agents: what the solve looked like. */
  batch?: Record<string, unknown>;
  decisions: { contact_id: string; decision_id: string; outcome: SubmitResult['outcome']; status: string }[];
}

export interface RunAgentsOptions {
  /** Omitted: every contact in an open lead stage, plus those with waiting proposals of these agents. */
  contactIds?: readonly string[];
  /** Agent names; omitted: all agents. */
  agents?: readonly string[];
  connector: string;
  now?: Date;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
}

export interface RunAgentsResult {
  contacts: number;
  agents: AgentRunSummary[];
  errors: { agent: string; contact_id: string | null; message: string }[];
}

function emptySummary(agent: Agent): AgentRunSummary {
  return {
    agent: agent.name,
    version: agent.version,
    contacts: 0,
    created: 0,
    unchanged: 0,
    in_flight: 0,
    withdrawn: 0,
    no_proposal: 0,
    errors: 0,
    statuses: {},
    decisions: [],
  };
}

export async function runAgents(db: Db, options: RunAgentsOptions): Promise<RunAgentsResult> {
  const agents = getAgents(options.agents);
  const now = options.now ?? new Date();
  const env = await loadAgentEnvironment(db, now);
  const result: RunAgentsResult = { contacts: 0, agents: [], errors: [] };
  const perContact = agents.filter((a) => !isBatchAgent(a));
  const summaries = new Map(agents.map((a) => [a.name, emptySummary(a)]));

  const ids = options.contactIds
    ? await liveContactIds(db, options.contactIds)
    : await sweepContactIds(
        db,
        perContact.map((a) => a.name),
      );
  if (perContact.length > 0) {
    result.contacts = ids.length;
    for (let start = 0; start < ids.length; start += SWEEP_PAGE) {
      const page = ids.slice(start, start + SWEEP_PAGE);
      const contexts = await loadAgentContexts(db, page, env);
      // Merged away or deleted: nothing applies to them any more.
      const gone = page.filter((id) => !contexts.has(id));
      for (const agent of perContact) {
        const withdrawn = await withdrawStaleProposals(db, {
          agent: agent.name,
          actionKind: agent.kind,
          subjectIds: gone,
          now,
        });
        summaries.get(agent.name)!.withdrawn += withdrawn.length;
      }
      for (const context of contexts.values()) {
        for (const agent of perContact) {
          await runOne(db, agent, context, summaries.get(agent.name)!, result, options, now);
        }
      }
      options.onProgress?.(Math.min(ids.length, start + SWEEP_PAGE), ids.length);
    }
  }

  if (agents.includes(routingAgent)) {
    const routing = await routeLeads(db, { ...options, now, env, contactIds: options.contactIds });
    summaries.set(routingAgent.name, routing.summary);
    result.errors.push(...routing.errors);
    result.contacts = Math.max(result.contacts, routing.summary.contacts);
  }
  result.agents = agents.map((a) => summaries.get(a.name)!);
  options.logger?.info(
    {
      contacts: result.contacts,
      agents: result.agents.map(({ decisions: _d, ...s }) => s),
      errors: result.errors.length,
    },
    'agents ran',
  );
  return result;
}

async function runOne(
  db: Db,
  agent: Agent,
  context: AgentContext,
  summary: AgentRunSummary,
  result: RunAgentsResult,
  options: RunAgentsOptions,
  now: Date,
): Promise<void> {
  summary.contacts++;
  try {
    const proposals = await agent.propose(context);
    if (proposals.length === 0) {
      summary.no_proposal++;
      const waiting = context.history.openDecisions.some(
        (d) =>
          d.agent === agent.name &&
          d.actionKind === agent.kind &&
          (d.status === 'proposed' || d.status === 'pending_review'),
      );
      if (!waiting) return;
      const withdrawn = await withdrawStaleProposals(db, {
        agent: agent.name,
        actionKind: agent.kind,
        subjectIds: [context.contact.id],
        now,
      });
      summary.withdrawn += withdrawn.length;
      return;
    }
    for (const proposal of proposals) await submit(db, proposal, summary, options, now);
  } catch (error) {
    summary.errors++;
    result.errors.push({
      agent: agent.name,
      contact_id: context.contact.id,
      message: error instanceof Error ? error.message : String(error),
    });
    options.logger?.warn(
      { err: error, agent: agent.name, contact: context.contact.id },
      'agent failed on a contact',
    );
  }
}

async function submit(
  db: Db,
  proposal: Proposal,
  summary: AgentRunSummary,
  options: Pick<RunAgentsOptions, 'connector'>,
  now: Date,
): Promise<void> {
  let outcome: SubmitResult;
  try {
    outcome = await submitProposal(db, proposal, { connector: options.connector, now });
  } catch (error) {
    // Two runs proposed for the same subject at once: the other one's proposal is now open; this retry dedups.
    if ((error as { code?: string }).code !== '23505') throw error;
    outcome = await submitProposal(db, proposal, { connector: options.connector, now });
  }
  if (outcome.outcome === 'created') {
    summary.created++;
    summary.statuses[outcome.status] = (summary.statuses[outcome.status] ?? 0) + 1;
  } else if (outcome.outcome === 'unchanged') summary.unchanged++;
  else summary.in_flight++;
  summary.decisions.push({
    contact_id: proposal.subject_id,
    decision_id: outcome.decision_id,
    outcome: outcome.outcome,
    status: outcome.status,
  });
}

/** Every live contact in an open lead stage, plus subjects with waiting proposals of these agents. */
async function sweepContactIds(db: Db, agentNames: string[]): Promise<string[]> {
  if (agentNames.length === 0) return [];
  const open = await db
    .selectFrom('contacts')
    .select('id')
    .where('merged_into_id', 'is', null)
    .where('lifecycle_stage', 'in', [...OPEN_LEAD_STAGES])
    .orderBy('id')
    .execute();
  const waiting = await db
    .selectFrom('decisions')
    .select('subject_id')
    .distinct()
    .where('subject_type', '=', 'contact')
    .where('agent', 'in', agentNames)
    .where('status', 'in', ['proposed', 'pending_review'])
    .execute();
  return [...new Set([...open.map((r) => r.id), ...waiting.map((r) => r.subject_id)])];
}

/**
 * Batch routing: the leads without an owner (oldest first, up to MAX_BATCH_LEADS; or the given contacts) solved
 * together, plus the contacts with waiting routing proposals, so those that got an owner meanwhile are withdrawn.
 */
export async function routeLeads(
  db: Db,
  options: Pick<RunAgentsOptions, 'connector' | 'logger' | 'contactIds'> & {
    now?: Date;
    env?: Awaited<ReturnType<typeof loadAgentEnvironment>>;
  },
): Promise<{ summary: AgentRunSummary; errors: RunAgentsResult['errors'] }> {
  const now = options.now ?? new Date();
  const env = options.env ?? (await loadAgentEnvironment(db, now));
  const summary = emptySummary(routingAgent);
  const errors: RunAgentsResult['errors'] = [];

  let ids: string[];
  if (options.contactIds) {
    ids = await liveContactIds(db, options.contactIds);
  } else {
    const unassigned = await db
      .selectFrom('contacts')
      .select('id')
      .where('merged_into_id', 'is', null)
      .where('owner_id', 'is', null)
      .where('lifecycle_stage', 'in', [...OPEN_LEAD_STAGES])
      .orderBy('created_at')
      .orderBy('id')
      .limit(MAX_BATCH_LEADS)
      .execute();
    const waiting = await db
      .selectFrom('decisions')
      .select('subject_id')
      .distinct()
      .where('subject_type', '=', 'contact')
      .where('agent', '=', routingAgent.name)
      .where('status', 'in', ['proposed', 'pending_review'])
      .execute();
    ids = [...new Set([...unassigned.map((r) => r.id), ...waiting.map((r) => r.subject_id)])];
  }
  const contexts = [...(await loadAgentContexts(db, ids, env)).values()];
  summary.contacts = contexts.length;
  const batch = await routingAgent.proposeBatch(contexts);
  summary.batch = { ...batch.summary, skipped: batch.skipped.length };
  const proposed = new Set(batch.proposals.map((p) => p.subject_id));
  for (const proposal of batch.proposals) {
    try {
      await submit(db, proposal, summary, options, now);
    } catch (error) {
      summary.errors++;
      errors.push({
        agent: routingAgent.name,
        contact_id: proposal.subject_id,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const nothing = ids.filter((id) => !proposed.has(id));
  summary.no_proposal = nothing.length;
  summary.withdrawn = (
    await withdrawStaleProposals(db, {
      agent: routingAgent.name,
      actionKind: routingAgent.kind,
      subjectIds: nothing,
      now,
    })
  ).length;
  return { summary, errors };
}
