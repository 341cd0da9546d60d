// The whole story of one decision, in the order of the loop: the events that fed it, the feature snapshot, the
// model, the agent's proposal, the policy's verdict, the humans' reviews, the delivery, and the outcome.
//
// Events: those the agent named in its inputs (`event_ids`), else the subject's most recent events up to the
// moment of the decision. Features and model come from the inputs the agent recorded (`feature_snapshot` or
// `features`, `feature_set`, `model` or `model_id` / `model_name` / `model_version`); a stage with nothing
// recorded still appears, saying so, so a gap in the evidence is visible rather than hidden.
import type { Db } from '../db/database.ts';
import type { DecisionState } from '../domain/decision-state.ts';
import { AppError } from '../errors.ts';
import type { DecisionRow } from './review-repository.ts';

export const TRAIL_STAGES = [
  'events',
  'features',
  'model',
  'agent',
  'policy',
  'review',
  'execution',
  'outcome',
] as const;
export type TrailStage = (typeof TRAIL_STAGES)[number];

export interface TrailStep {
  stage: TrailStage;
  at: Date | null;
  summary: string;
  details: Record<string, unknown>;
}

/** Recent events shown when the agent did not name the events it used. */
export const TRAIL_RECENT_EVENTS = 50;

const TRANSITION_STAGE: Record<DecisionState, TrailStage> = {
  proposed: 'agent',
  auto_approved: 'policy',
  pending_review: 'policy',
  blocked: 'policy',
  approved: 'review',
  edited_approved: 'review',
  rejected: 'review',
  expired: 'review',
  withdrawn: 'review',
  executing: 'execution',
  executed: 'execution',
  failed: 'execution',
  compensated: 'execution',
  outcome_observed: 'outcome',
};

export async function decisionTrail(
  db: Db,
  decisionId: string,
): Promise<{ decision_id: string; status: string; steps: TrailStep[] }> {
  const decision = await db
    .selectFrom('decisions')
    .selectAll()
    .where('id', '=', decisionId)
    .executeTakeFirst();
  if (!decision) throw new AppError('not_found', `No decision ${decisionId}`);
  const inputs = (decision.inputs ?? {}) as Record<string, unknown>;
  const reviews = await reviewSteps(db, decision);
  const steps: TrailStep[] = [
    await eventsStep(db, decision, inputs),
    featuresStep(decision, inputs),
    await modelStep(db, decision, inputs),
    agentStep(decision),
    await policyStep(db, decision),
    ...reviews,
    ...(await executionSteps(db, decision)),
    ...outcomeSteps(decision),
  ];
  const reviewTimes = new Map(
    reviews.filter((r) => typeof r.details.id === 'string').map((r) => [r.details.id as string, r.at]),
  );
  const sortable = [
    ...steps.map((step) => ({ step, sortAt: step.at?.getTime() ?? null })),
    ...(await transitionSteps(db, decision, reviewTimes)),
  ];
  const order = (s: TrailStep) => TRAIL_STAGES.indexOf(s.stage);
  // Stable: within a stage, by time; steps without a time keep their place.
  sortable.sort(
    (a, b) =>
      order(a.step) - order(b.step) || (a.sortAt !== null && b.sortAt !== null ? a.sortAt - b.sortAt : 0),
  );
  return { decision_id: decision.id, status: decision.status, steps: sortable.map((s) => s.step) };
}

async function eventsStep(
  db: Db,
  decision: DecisionRow,
  inputs: Record<string, unknown>,
): Promise<TrailStep> {
  const named = Array.isArray(inputs.event_ids)
    ? inputs.event_ids.filter((id) => /^\d+$/.test(String(id))).map(String)
    : null;
  // A bottleneck finding is about a stage, not a record with events: only the events its inputs name.
  const subjectColumn =
    decision.subject_type === 'bottleneck'
      ? null
      : ({ contact: 'contact_id', account: 'account_id', opportunity: 'opportunity_id' } as const)[
          decision.subject_type
        ];
  let query = db
    .selectFrom('events')
    .select(['id', 'source', 'source_event_id', 'type', 'occurred_at', 'received_at']);
  query =
    named || !subjectColumn
      ? query.where('id', 'in', named?.length ? named : ['0'])
      : query
          .where(subjectColumn, '=', decision.subject_id)
          .where('occurred_at', '<=', decision.created_at)
          .orderBy('occurred_at', 'desc')
          .orderBy('id', 'desc')
          .limit(TRAIL_RECENT_EVENTS);
  const events = (await query.execute()).sort(
    (a, b) => a.occurred_at.getTime() - b.occurred_at.getTime() || Number(a.id) - Number(b.id),
  );
  const last = events.at(-1);
  return {
    stage: 'events',
    at: last?.occurred_at ?? null,
    summary: events.length
      ? `${events.length} event(s) of the ${decision.subject_type}${named ? ' named in the inputs' : ' up to the decision'}; latest ${last!.type} at ${last!.occurred_at.toISOString()}`
      : `no events of the ${decision.subject_type} before the decision`,
    details: {
      selection: named
        ? 'inputs.event_ids'
        : `the ${TRAIL_RECENT_EVENTS} most recent events up to the decision`,
      events,
      ...(named ? { missing: named.filter((id) => !events.some((e) => e.id === id)) } : {}),
    },
  };
}

function featuresStep(decision: DecisionRow, inputs: Record<string, unknown>): TrailStep {
  const snapshot = (inputs.feature_snapshot ?? inputs.features ?? null) as Record<string, unknown> | null;
  const asOf = typeof inputs.as_of === 'string' ? new Date(inputs.as_of) : decision.created_at;
  const set = inputs.feature_set ?? null;
  const version = inputs.feature_set_version ?? null;
  return {
    stage: 'features',
    at: Number.isNaN(asOf.getTime()) ? decision.created_at : asOf,
    summary: snapshot
      ? `feature snapshot with ${Object.keys(snapshot).length} value(s)${set ? ` from ${String(set)}${version ? ` v${String(version)}` : ''}` : ''}`
      : 'no feature snapshot recorded in the inputs',
    details: { feature_set: set, feature_set_version: version, snapshot },
  };
}

async function modelStep(db: Db, decision: DecisionRow, inputs: Record<string, unknown>): Promise<TrailStep> {
  const nested = (typeof inputs.model === 'object' && inputs.model ? inputs.model : {}) as Record<
    string,
    unknown
  >;
  const id = nested.id ?? inputs.model_id ?? null;
  const name = nested.name ?? inputs.model_name ?? (typeof inputs.model === 'string' ? inputs.model : null);
  const version = nested.version ?? inputs.model_version ?? null;
  const recorded = { id, name, version, alias: nested.alias ?? inputs.model_alias ?? null };
  const models = db
    .selectFrom('models')
    .select(['id', 'name', 'version', 'kind', 'feature_set', 'feature_set_version', 'trained_at', 'metrics']);
  let model = null;
  if (typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) {
    model = await models.where('id', '=', id).executeTakeFirst();
  } else if (typeof name === 'string' && Number.isInteger(Number(version))) {
    model = await models.where('name', '=', name).where('version', '=', Number(version)).executeTakeFirst();
  }
  const score = inputs.score ?? inputs.probability ?? null;
  return {
    stage: 'model',
    at: model?.trained_at ?? null,
    summary: model
      ? `model ${model.name} v${model.version} (${model.kind}), trained ${model.trained_at.toISOString()}`
      : name || id
        ? `model ${String(name ?? id)}${version !== null ? ` v${String(version)}` : ''} (not in the registry)`
        : 'no model recorded in the inputs',
    details: { recorded, model: model ?? null, score },
  };
}

function agentStep(decision: DecisionRow): TrailStep {
  return {
    stage: 'agent',
    at: decision.created_at,
    summary: `${decision.agent} ${decision.agent_version} proposed ${decision.action_type} with confidence ${decision.confidence}`,
    details: {
      agent: decision.agent,
      agent_version: decision.agent_version,
      action: decision.action,
      confidence: decision.confidence,
      expected_value: decision.expected_value,
      risk: decision.risk,
      explanation: decision.explanation,
      dissent: decision.dissent,
      mitigations: decision.mitigations,
      alternatives: decision.alternatives,
      facts: decision.facts,
    },
  };
}

async function policyStep(db: Db, decision: DecisionRow): Promise<TrailStep> {
  const gate = decision.gate as {
    outcome?: string;
    rule?: string | null;
    note?: string;
    reason?: string;
  } | null;
  const policy =
    decision.policy_version === null
      ? null
      : await db
          .selectFrom('policies')
          .select(['version', 'status', 'reason', 'proposed_by', 'decided_by', 'decided_at'])
          .where('version', '=', decision.policy_version)
          .executeTakeFirst();
  const where = decision.policy_version === null ? 'no active policy' : `policy v${decision.policy_version}`;
  return {
    stage: 'policy',
    at: decision.created_at,
    summary: gate
      ? `${where}${gate.rule ? `, rule ${gate.rule}` : ', no rule matched'}: ${gate.outcome}${gate.note ? ` (${gate.note})` : ''}`
      : 'not through the gate yet',
    details: {
      policy_version: decision.policy_version,
      policy: policy ?? null,
      gate,
      approvals_required: decision.approvals_required,
      required_role: decision.required_role,
      deadline_at: decision.deadline_at,
      on_deadline: decision.on_deadline,
    },
  };
}

async function reviewSteps(db: Db, decision: DecisionRow): Promise<TrailStep[]> {
  const [reviews, comments, escalations] = await Promise.all([
    db.selectFrom('reviews').selectAll().where('decision_id', '=', decision.id).orderBy('at').execute(),
    db
      .selectFrom('decision_comments')
      .selectAll()
      .where('decision_id', '=', decision.id)
      .orderBy('at')
      .execute(),
    db
      .selectFrom('audit_log')
      .select(['id', 'at', 'actor', 'action', 'reason', 'before', 'after'])
      .where('subject_type', '=', 'decision')
      .where('subject_id', '=', decision.id)
      .where('action', 'like', 'decision.escalation.%')
      .orderBy('id')
      .execute(),
  ]);
  return [
    ...reviews.map((r) => ({
      stage: 'review' as const,
      at: r.at,
      summary: `${r.reviewer}: ${r.verdict}${r.reason ? ` — ${r.reason}` : ''}`,
      details: { ...r },
    })),
    ...comments.map((c) => ({
      stage: 'review' as const,
      at: c.at,
      summary: `comment by ${c.author}`,
      details: { ...c },
    })),
    ...escalations.map((e) => ({
      stage: 'review' as const,
      at: e.at,
      summary: `escalation: ${e.action.replace('decision.escalation.', '')}${e.reason ? ` — ${e.reason}` : ''}`,
      details: { audit_id: e.id, actor: e.actor, before: e.before, after: e.after },
    })),
  ];
}

async function executionSteps(db: Db, decision: DecisionRow): Promise<TrailStep[]> {
  const deliveries = await db
    .selectFrom('outbox')
    .selectAll()
    .where('decision_id', '=', decision.id)
    .orderBy('created_at')
    .execute();
  return deliveries.map((d) => ({
    stage: 'execution' as const,
    at: d.created_at,
    summary: `${d.kind} via ${d.connector}: ${d.status} after ${d.attempts} attempt(s)${d.last_error ? `; last error: ${d.last_error}` : ''}`,
    details: { ...d },
  }));
}

/**
 * A transition carries its transaction's start time, the review that caused it the time it was written: the
 * transition sorts just after its review.
 */
async function transitionSteps(
  db: Db,
  decision: DecisionRow,
  reviewTimes: Map<string, Date | null>,
): Promise<{ step: TrailStep; sortAt: number }[]> {
  const transitions = await db
    .selectFrom('decision_transitions')
    .selectAll()
    .where('decision_id', '=', decision.id)
    .orderBy('id')
    .execute();
  return transitions.map((t) => {
    const reviewId = (t.details as { review_id?: unknown } | null)?.review_id;
    const reviewAt = typeof reviewId === 'string' ? reviewTimes.get(reviewId) : undefined;
    return {
      step: {
        stage: TRANSITION_STAGE[t.to_status as DecisionState] ?? 'review',
        at: t.at,
        summary: `${t.from_status ?? '(new)'} -> ${t.to_status} by ${t.actor}${t.reason ? `: ${t.reason}` : ''}`,
        details: {
          transition_id: t.id,
          from: t.from_status,
          to: t.to_status,
          actor: t.actor,
          reason: t.reason,
          details: t.details,
        },
      },
      sortAt: Math.max(t.at.getTime(), reviewAt ? reviewAt.getTime() + 1 : 0),
    };
  });
}

function outcomeSteps(decision: DecisionRow): TrailStep[] {
  if (!decision.outcome) return [];
  const outcome = decision.outcome as Record<string, unknown>;
  const at = typeof outcome.observed_at === 'string' ? new Date(outcome.observed_at) : decision.updated_at;
  return [
    {
      stage: 'outcome',
      at: Number.isNaN(at.getTime()) ? decision.updated_at : at,
      summary: `outcome observed${typeof outcome.label === 'string' ? `: ${outcome.label}` : ''}`,
      details: outcome,
    },
  ];
}
