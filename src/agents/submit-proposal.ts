// An agent's proposal enters the system here: validated, deduplicated (one open proposal per subject and kind
// of action), recorded as `proposed`, and sent through the gate in the same transaction: automatic execution
// (approved payload frozen, outbox row written), review (assigned, with deadline and escalation), or block.
import { z } from 'zod';
import { canonicalJson } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { AppError } from '../errors.ts';
import { activePolicy, breakerState } from '../gates/active-policy.ts';
import { evaluateGate, type GateFacts, type GateOutcome } from '../gates/policy.ts';
import { enqueueDelivery } from '../execution/outbox.ts';
import { chooseReviewer } from '../review/assign.ts';
import { experimentArm } from '../feedback/experiments.ts';
import { monitoringState } from '../monitoring/monitoring-state.ts';
import { validateAction, type Action } from './actions.ts';
import { SYSTEM, transition, type Actor } from './decision-store.ts';

export const proposalSchema = z.object({
  agent: z.string().min(1).max(100),
  agent_version: z.string().min(1).max(50),
  subject_type: z.enum(['contact', 'account', 'opportunity', 'bottleneck']),
  subject_id: z.uuid(),
  action: z.object({ type: z.string(), params: z.record(z.string(), z.unknown()) }),
  /** Defaults to the action type: one open proposal per subject and kind. */
  action_kind: z.string().max(100).optional(),
  confidence: z.number().min(0).max(1),
  expected_value: z.number().nullable().default(null),
  risk: z.number().nullable().default(null),
  explanation: z.object({
    summary: z.string().max(2000),
    for: z.array(z.object({ feature: z.string(), phrase: z.string(), contribution: z.number() })).default([]),
    against: z
      .array(z.object({ feature: z.string(), phrase: z.string(), contribution: z.number() }))
      .default([]),
  }),
  dissent: z.string().min(1, 'every proposal states the strongest case against it').max(2000),
  mitigations: z
    .array(z.string().max(1000))
    .min(1, 'every proposal says what limits the damage if it is wrong'),
  alternatives: z
    .array(z.object({ action: z.string(), expected_value: z.number().nullable(), why_not: z.string() }))
    .default([]),
  inputs: z
    .record(z.string(), z.unknown())
    .describe('feature snapshot, model id and version, agent version, event ids'),
  facts: z
    .object({
      deal_size: z.number().nullable().default(null),
      account_tier: z.string().nullable().default(null),
      segment: z.string().nullable().default(null),
      model_age_days: z.number().nullable().default(null),
      skills: z.array(z.string()).default([]),
    })
    .default({ deal_size: null, account_tier: null, segment: null, model_age_days: null, skills: [] }),
});
export type Proposal = z.input<typeof proposalSchema>;

export interface SubmitResult {
  decision_id: string;
  status: DecisionState;
  outcome: 'created' | 'unchanged' | 'in_flight';
  gate?: GateOutcome;
}

export interface GateSettings {
  connector: string;
  /** For tests and simulation: the time the decision is made. */
  now?: Date;
}

export async function submitProposal(
  db: Db,
  input: Proposal,
  settings: GateSettings,
  actor: Actor = SYSTEM,
): Promise<SubmitResult> {
  const proposal = proposalSchema.parse(input);
  const checked = validateAction(proposal.action);
  if (!checked.ok) {
    throw new AppError(
      'validation_failed',
      `The proposed action is invalid: ${checked.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      { fields: checked.errors },
    );
  }
  const action = checked.action;
  const kind = proposal.action_kind ?? action.type;
  const now = settings.now ?? new Date();

  return db.transaction().execute(async (trx) => {
    const open = await trx
      .selectFrom('decisions')
      .select(['id', 'status', 'action'])
      .where('subject_type', '=', proposal.subject_type)
      .where('subject_id', '=', proposal.subject_id)
      .where('action_kind', '=', kind)
      .where('status', 'in', [
        'proposed',
        'pending_review',
        'auto_approved',
        'approved',
        'edited_approved',
        'executing',
      ])
      .forUpdate()
      .executeTakeFirst();
    if (open) {
      if (canonicalJson(open.action) === canonicalJson(action)) {
        return { decision_id: open.id, status: open.status as DecisionState, outcome: 'unchanged' as const };
      }
      if (open.status !== 'pending_review' && open.status !== 'proposed') {
        // Already approved or running: the newer picture waits for the outcome of this one.
        return { decision_id: open.id, status: open.status as DecisionState, outcome: 'in_flight' as const };
      }
      await transition(trx, {
        decisionId: open.id,
        from: ['proposed', 'pending_review'],
        to: 'withdrawn',
        actor,
        reason: 'superseded: new events changed the picture and the agent proposes something else',
        patch: { decided_at: now, claimed_by: null, claim_expires_at: null },
      });
    }

    // Holdout subjects stay on business as usual: their proposals are recorded, blocked, and never executed.
    const experiment = await experimentArm(trx, proposal.subject_type, proposal.subject_id);
    if (experiment?.arm === 'holdout') {
      const previous = await trx
        .selectFrom('decisions')
        .select(['id', 'action'])
        .where('subject_type', '=', proposal.subject_type)
        .where('subject_id', '=', proposal.subject_id)
        .where('action_kind', '=', kind)
        .where('experiment_arm', '=', 'holdout')
        .where('experiment_id', '=', experiment.experimentId)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (previous && canonicalJson(previous.action) === canonicalJson(action))
        return { decision_id: previous.id, status: 'blocked' as const, outcome: 'unchanged' as const };
    }

    const created = await trx
      .insertInto('decisions')
      .values({
        agent: proposal.agent,
        agent_version: proposal.agent_version,
        subject_type: proposal.subject_type,
        subject_id: proposal.subject_id,
        action_type: action.type,
        action_kind: kind,
        action: JSON.stringify(action),
        confidence: proposal.confidence,
        expected_value: proposal.expected_value,
        risk: proposal.risk,
        explanation: JSON.stringify(proposal.explanation),
        dissent: proposal.dissent,
        mitigations: JSON.stringify(proposal.mitigations),
        alternatives: JSON.stringify(proposal.alternatives),
        inputs: JSON.stringify(proposal.inputs),
        facts: JSON.stringify(proposal.facts),
        status: 'proposed',
        created_at: now,
        updated_at: now,
        experiment_id: experiment?.experimentId ?? null,
        experiment_arm: experiment?.arm ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('decision_transitions')
      .values({
        decision_id: created.id,
        from_status: null,
        to_status: 'proposed',
        actor: actor.name,
        reason: `proposed by ${proposal.agent} ${proposal.agent_version}`,
      })
      .execute();

    if (experiment?.arm === 'holdout') {
      const reason = `holdout: experiment ${experiment.experiment} leaves this ${proposal.subject_type} to business as usual; recorded, never executed`;
      const gate: GateOutcome = { outcome: 'block', rule: 'holdout', reason };
      await transition(trx, {
        decisionId: created.id,
        from: ['proposed'],
        to: 'blocked',
        actor: SYSTEM,
        reason,
        details: { rule: 'holdout', experiment: experiment.experiment, arm: 'holdout' },
        patch: { gate: JSON.stringify(gate), decided_at: now },
      });
      return { decision_id: created.id, status: 'blocked' as const, outcome: 'created' as const, gate };
    }

    const [policy, breaker] = await Promise.all([activePolicy(trx), breakerState(trx)]);
    const monitoring = await monitoringState(trx, breaker.open);
    const facts: GateFacts = {
      action_type: action.type,
      params: action.params,
      confidence: proposal.confidence,
      expected_value: proposal.expected_value,
      deal_size: proposal.facts.deal_size,
      risk: proposal.risk,
      account_tier: proposal.facts.account_tier,
      segment: proposal.facts.segment,
      model_age_days: proposal.facts.model_age_days,
      monitoring: monitoring.state,
    };
    const gate = evaluateGate(policy?.document ?? null, facts, breaker.open);
    await applyGate(trx, {
      decisionId: created.id,
      action,
      gate,
      policyVersion: policy?.version ?? null,
      skills: [
        action.type,
        ...(proposal.facts.segment ? [proposal.facts.segment] : []),
        ...proposal.facts.skills,
      ],
      connector: settings.connector,
      now,
    });
    const status: DecisionState =
      gate.outcome === 'auto' ? 'auto_approved' : gate.outcome === 'review' ? 'pending_review' : 'blocked';
    return { decision_id: created.id, status, outcome: 'created' as const, gate };
  });
}

async function applyGate(
  trx: Db,
  options: {
    decisionId: string;
    action: Action;
    gate: GateOutcome;
    policyVersion: number | null;
    skills: string[];
    connector: string;
    now: Date;
  },
): Promise<void> {
  const { gate, decisionId, now } = options;
  const base = { gate: JSON.stringify(gate), policy_version: options.policyVersion };
  const details = {
    rule: gate.rule,
    policy_version: options.policyVersion,
    ...('note' in gate && gate.note ? { note: gate.note } : {}),
  };
  if (gate.outcome === 'auto') {
    await transition(trx, {
      decisionId,
      from: ['proposed'],
      to: 'auto_approved',
      actor: SYSTEM,
      reason: `policy version ${options.policyVersion}, rule ${gate.rule}: execute automatically`,
      details,
      patch: { ...base, approved_action: JSON.stringify(options.action), decided_at: now },
    });
    await enqueueDelivery(trx, { decisionId, action: options.action, connector: options.connector });
    return;
  }
  if (gate.outcome === 'block') {
    await transition(trx, {
      decisionId,
      from: ['proposed'],
      to: 'blocked',
      actor: SYSTEM,
      reason: gate.reason,
      details,
      patch: { ...base, decided_at: now },
    });
    return;
  }
  const review = gate.review;
  const assignee = await chooseReviewer(trx, { role: review.role, skills: options.skills });
  const firstEscalation = review.escalation[0];
  await transition(trx, {
    decisionId,
    from: ['proposed'],
    to: 'pending_review',
    actor: SYSTEM,
    reason: `policy version ${options.policyVersion ?? 'none'}${gate.rule ? `, rule ${gate.rule}` : ''}: ${review.approvals} approval(s) by ${review.role} within ${Math.round(review.deadline / 3_600_000)} h${'note' in gate && gate.note ? ` (${gate.note})` : ''}`,
    details: { ...details, approvals: review.approvals, role: review.role, assigned_to: assignee },
    patch: {
      ...base,
      approvals_required: review.approvals,
      required_role: review.role,
      deadline_at: new Date(now.getTime() + review.deadline),
      on_deadline: review.on_deadline,
      next_escalation_at: firstEscalation ? new Date(now.getTime() + firstEscalation.after) : null,
      assigned_to: assignee,
    },
  });
}
