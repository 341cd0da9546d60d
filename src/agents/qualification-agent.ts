// Qualification: from the lead score, promote to SQL, keep nurturing, or disqualify a lead that went silent.
// Only for contacts still in the lead or mql stage. The decision is a pure function of the score, the stage and
// how long the contact has been silent; everything else is explanation.
import {
  baseInputs,
  daysSinceLastEngagement,
  gateFacts,
  money,
  percent,
  round,
  type Agent,
  type AgentContext,
  type Proposal,
} from './agent.ts';
import type { DealValue } from './agent.ts';
import { FALLBACK_DEAL_VALUE } from './estimates.ts';

export const QUALIFICATION_AGENT = 'qualification';
export const QUALIFICATION_VERSION = '1.0.0';

/**
 * At even odds or better the lead is more likely than not to become an SQL within 30 days (what the lead score
 * predicts): handing it to sales now saves the wait. Below it, more than half of the hand-offs would come back.
 */
export const SQL_THRESHOLD = 0.5;
/**
 * Below 3 % a lead is worth less than the rep time a cadence would spend on it; with no engagement for
 * STALE_AFTER_DAYS it only takes a slot in a queue a live lead could use.
 */
export const DISQUALIFY_BELOW = 0.03;
/** Silent this long (and known this long) = stale. Longer than a full nurture cadence (about a month). */
export const STALE_AFTER_DAYS = 45;
/**
 * A waiting proposal keeps its outcome while the score stays within 0.02 of its band, so a lead hovering at a
 * threshold does not flip its proposal back and forth with every rescore.
 */
export const HYSTERESIS = 0.02;
/** Stages this agent decides on; later stages belong to the deal process. */
export const QUALIFIABLE_STAGES = ['lead', 'mql'] as const;

/** A ready lead kept in nurture for another cycle loses about a tenth of its value (it cools, or buys elsewhere). */
export const NURTURE_VALUE_KEPT = 0.9;
/** A disqualified lead that engages again is rescored and comes back: about a fifth of its value survives. */
export const DISQUALIFY_VALUE_KEPT = 0.2;
/**
 * The cold-start prior is a hand-set rule, not a calibrated model: its confidence is pulled halfway toward 0.5.
 */
export const PRIOR_CONFIDENCE_SHRINK = 0.5;

export type QualificationOutcome = 'sql' | 'nurture' | 'disqualified';

export interface QualificationInput {
  probability: number;
  stage: string;
  /** Days since the last engagement; null when none in the event window. */
  daysSilent: number | null;
  /** Days the contact has been in its stage (or known at all). */
  daysKnown: number | null;
  /** The outcome of this agent's proposal still waiting for a decision, if any. */
  pending?: QualificationOutcome | null;
}

/** The rule: null when the agent has nothing to say (stage out of scope). */
export function decideQualification(input: QualificationInput): QualificationOutcome | null {
  if (!(QUALIFIABLE_STAGES as readonly string[]).includes(input.stage)) return null;
  const p = input.probability;
  const stale = isStale(input);
  if (input.pending === 'sql' && p >= SQL_THRESHOLD - HYSTERESIS) return 'sql';
  if (
    input.pending === 'nurture' &&
    p < SQL_THRESHOLD + HYSTERESIS &&
    (p >= DISQUALIFY_BELOW - HYSTERESIS / 4 || !stale)
  )
    return 'nurture';
  if (input.pending === 'disqualified' && p < DISQUALIFY_BELOW + HYSTERESIS / 4 && stale)
    return 'disqualified';
  if (p >= SQL_THRESHOLD) return 'sql';
  if (p < DISQUALIFY_BELOW && stale) return 'disqualified';
  return 'nurture';
}

export function isStale(input: Pick<QualificationInput, 'daysSilent' | 'daysKnown'>): boolean {
  const silent = input.daysSilent ?? input.daysKnown;
  return (
    silent !== null &&
    silent >= STALE_AFTER_DAYS &&
    (input.daysKnown === null || input.daysKnown >= STALE_AFTER_DAYS)
  );
}

/**
 * What keeping a stale lead costs: a slot in its owner's queue (capacity counts open leads) and sender reputation.
 * Set so that DISQUALIFY_BELOW is exactly where nurture and disqualification are worth the same for a stale lead:
 * the floor is the policy, the cost it implies follows from it.
 */
export function staleKeepCost(dealValue: number): number {
  return DISQUALIFY_BELOW * dealValue * (NURTURE_VALUE_KEPT - DISQUALIFY_VALUE_KEPT);
}

/**
 * What a premature hand-off costs: an AE slot spent on a lead that is not ready, and a contact put off. Set so that
 * SQL_THRESHOLD is exactly where promoting and nurturing are worth the same (about a tenth of a typical deal).
 */
export function handoffCost(dealValue: number, stale: boolean): number {
  const keep = stale ? staleKeepCost(dealValue) : 0;
  return (SQL_THRESHOLD * dealValue * (1 - NURTURE_VALUE_KEPT) + keep) / (1 - SQL_THRESHOLD);
}

/**
 * Expected value of each outcome: probability x typical deal value, less what the outcome forgoes or costs. The
 * costs are those the thresholds imply, so the outcome the rule chooses is always the one of highest value.
 */
export function outcomeValue(
  outcome: QualificationOutcome,
  probability: number,
  dealValue: number,
  stale = false,
): number {
  const value = probability * dealValue;
  switch (outcome) {
    case 'sql':
      return value - (1 - probability) * handoffCost(dealValue, stale);
    case 'nurture':
      return value * NURTURE_VALUE_KEPT - (stale ? staleKeepCost(dealValue) : 0);
    case 'disqualified':
      return value * DISQUALIFY_VALUE_KEPT;
  }
}

/** The chance the outcome is right, from the calibrated score: ready (sql) or not ready (the others). */
export function qualificationConfidence(
  outcome: QualificationOutcome,
  probability: number,
  isPrior: boolean,
) {
  const raw = outcome === 'sql' ? probability : 1 - probability;
  return isPrior ? 0.5 + (raw - 0.5) * PRIOR_CONFIDENCE_SHRINK : raw;
}

/** Expected loss if wrong: a wasted hand-off, a ready lead cooling in nurture, or most of the lead. */
export function qualificationRisk(
  outcome: QualificationOutcome,
  probability: number,
  dealValue: number,
  stale = false,
): number {
  switch (outcome) {
    case 'sql':
      return (1 - probability) * handoffCost(dealValue, stale);
    case 'nurture':
      return probability * dealValue * (1 - NURTURE_VALUE_KEPT);
    case 'disqualified':
      return probability * dealValue * (1 - DISQUALIFY_VALUE_KEPT);
  }
}

export function dealValueFor(context: AgentContext): DealValue {
  const band = context.account?.sizeBand ?? 'unknown';
  return (
    context.env.dealValues.get(band) ?? {
      value: FALLBACK_DEAL_VALUE[band] ?? FALLBACK_DEAL_VALUE['unknown']!,
      basis: 'fallback',
      deals: 0,
    }
  );
}

function daysKnown(context: AgentContext): number | null {
  const since =
    context.contact.lifecycleStageAt ??
    context.history.stages.at(-1)?.changedAt ??
    context.events.at(-1)?.occurredAt ??
    null;
  return since ? (context.now.getTime() - since.getTime()) / 86_400_000 : null;
}

const LABEL: Record<QualificationOutcome, string> = {
  sql: 'promote to SQL',
  nurture: 'keep nurturing',
  disqualified: 'disqualify',
};

export const qualificationAgent: Agent = {
  name: QUALIFICATION_AGENT,
  version: QUALIFICATION_VERSION,
  kind: 'lead.qualify',
  description:
    `From the lead score: promote to SQL at ${SQL_THRESHOLD} or above, disqualify below ${DISQUALIFY_BELOW} when ` +
    `silent for ${STALE_AFTER_DAYS} days, otherwise keep nurturing. Leads and MQLs only.`,
  async propose(context) {
    const proposal = proposeQualification(context);
    return proposal ? [proposal] : [];
  },
};

export function proposeQualification(context: AgentContext): Proposal | null {
  const score = context.score;
  if (!score) return null;
  const p = score.probability;
  const silent = daysSinceLastEngagement(context);
  const known = daysKnown(context);
  const pending = context.history.openDecisions.find(
    (d) => d.agent === QUALIFICATION_AGENT && (d.status === 'pending_review' || d.status === 'proposed'),
  )?.action.params['to_stage'] as QualificationOutcome | undefined;
  const outcome = decideQualification({
    probability: p,
    stage: context.contact.lifecycleStage,
    daysSilent: silent,
    daysKnown: known,
    pending: pending ?? null,
  });
  if (!outcome) return null;
  const deal = dealValueFor(context);
  const stale = isStale({ daysSilent: silent, daysKnown: known });
  const values = {
    sql: outcomeValue('sql', p, deal.value, stale),
    nurture: outcomeValue('nurture', p, deal.value, stale),
    disqualified: outcomeValue('disqualified', p, deal.value, stale),
  };
  const confidence = qualificationConfidence(outcome, p, score.isPrior);
  const model = score.isPrior
    ? 'the cold-start rule (no trained model yet)'
    : `model ${score.modelName} v${score.modelVersion}`;
  const silence =
    silent === null
      ? `no engagement in the last ${Math.round(known ?? 0)} days`
      : `last engaged ${Math.round(silent)} days ago`;

  const supporting = outcome === 'sql' ? score.factors.for : score.factors.against;
  const opposing = outcome === 'sql' ? score.factors.against : score.factors.for;
  const forFactors = supporting.map((f) => ({
    feature: f.feature,
    phrase: f.phrase,
    contribution: f.contribution,
  }));
  const againstFactors = opposing.map((f) => ({
    feature: f.feature,
    phrase: f.phrase,
    contribution: f.contribution,
  }));
  if (outcome === 'disqualified') {
    forFactors.push({ feature: 'days_since_last_engagement', phrase: silence, contribution: 0 });
  }

  const chance = percent(p);
  const summary =
    `${LABEL[outcome]}: ${chance} chance of becoming an SQL within 30 days (${model}); ` +
    `typical ${context.account?.sizeBand?.replace('_', '-') ?? 'unknown-size'} deal ${money(deal.value)}.`;
  // The strongest factor pointing the other way.
  const topAgainst = againstFactors[0]?.phrase;
  const dissent =
    outcome === 'sql'
      ? `About ${percent(1 - p)} of leads scored like this do not become SQLs within 30 days` +
        (topAgainst ? `; ${topAgainst}` : '') +
        `. A premature hand-off spends an AE slot (about ${money(handoffCost(deal.value, stale))}) and can put the contact off.` +
        (score.isPrior ? ' The score comes from the cold-start rule, not a trained model.' : '')
      : outcome === 'nurture'
        ? p >= SQL_THRESHOLD * 0.7
          ? `At ${chance} the lead is close to the SQL threshold of ${percent(SQL_THRESHOLD)}` +
            (topAgainst ? `; ${topAgainst}` : '') +
            '. Another nurture cycle may let a ready buyer cool off.'
          : `There is still a ${chance} chance the lead is ready` +
            (topAgainst ? ` (${topAgainst})` : '') +
            ', and nurture keeps it away from sales for another cycle.'
        : `${chance} of leads scored like this still become SQLs` +
          (topAgainst ? `, and ${topAgainst}` : '') +
          '. Disqualifying stops every touch; a lead that was only busy is lost.';
  const mitigations =
    outcome === 'sql'
      ? [
          'The AE can send the lead back to nurture after the first call; the hand-off is one stage change.',
          'A pending proposal is withdrawn if new events lower the score below the threshold.',
        ]
      : outcome === 'nurture'
        ? [
            `Any new engagement rescores the lead within seconds and re-runs this agent: crossing ${percent(SQL_THRESHOLD)} proposes SQL at once.`,
            'Nurture keeps the contact in the funnel; nothing is deleted.',
          ]
        : [
            'Disqualified is reversible: any new engagement rescores the contact and this agent proposes nurture or SQL again.',
            'Only the lifecycle stage changes; the CRM record and its history are kept.',
          ];
  const whyNot: Record<QualificationOutcome, string> = {
    sql:
      p >= SQL_THRESHOLD
        ? 'chosen'
        : `${chance} is below the SQL threshold of ${percent(SQL_THRESHOLD)}: most hand-offs would come back`,
    nurture:
      p >= SQL_THRESHOLD
        ? `the lead is likely ready; another nurture cycle forfeits about ${percent(1 - NURTURE_VALUE_KEPT)} of its value`
        : outcome === 'disqualified'
          ? `below ${percent(DISQUALIFY_BELOW)} and ${silence}: keeping it costs a queue slot (about ${money(staleKeepCost(deal.value))}) for little chance`
          : 'chosen',
    disqualified:
      p >= DISQUALIFY_BELOW
        ? `${chance} is above the disqualification floor of ${percent(DISQUALIFY_BELOW)}`
        : `the lead is not stale yet (${silence}; stale after ${STALE_AFTER_DAYS} days)`,
  };
  const alternatives = (Object.keys(values) as QualificationOutcome[])
    .filter((o) => o !== outcome)
    .map((o) => ({ action: `lead.qualify:${o}`, expected_value: round(values[o]), why_not: whyNot[o] }));

  return {
    agent: QUALIFICATION_AGENT,
    agent_version: QUALIFICATION_VERSION,
    subject_type: 'contact',
    subject_id: context.contact.id,
    action: {
      type: 'lead.qualify',
      params: {
        contact_id: context.contact.id,
        to_stage: outcome,
        // Stable while the picture is: the band, not the exact score, so a small rescore does not re-propose.
        reason:
          outcome === 'sql'
            ? `Lead score at or above the SQL threshold (${SQL_THRESHOLD})`
            : outcome === 'nurture'
              ? `Lead score between ${DISQUALIFY_BELOW} and ${SQL_THRESHOLD}, or low but still active`
              : `Lead score below ${DISQUALIFY_BELOW} and no engagement for ${STALE_AFTER_DAYS}+ days`,
      },
    },
    confidence: round(confidence, 4),
    expected_value: round(values[outcome]),
    risk: round(qualificationRisk(outcome, p, deal.value, stale)),
    explanation: { summary, for: forFactors, against: againstFactors },
    dissent,
    mitigations,
    alternatives,
    inputs: baseInputs(qualificationAgent, context, {
      stage: context.contact.lifecycleStage,
      days_silent: silent === null ? null : round(silent, 1),
      days_known: known === null ? null : round(known, 1),
      stale,
      implied_costs: {
        handoff: round(handoffCost(deal.value, stale)),
        keep_stale: round(staleKeepCost(deal.value)),
      },
      deal_value: { ...deal, band: context.account?.sizeBand ?? 'unknown' },
      thresholds: {
        sql: SQL_THRESHOLD,
        disqualify_below: DISQUALIFY_BELOW,
        stale_after_days: STALE_AFTER_DAYS,
      },
      confidence_method: score.isPrior
        ? `lead score from the cold-start rule, pulled ${PRIOR_CONFIDENCE_SHRINK * 100} % toward 0.5 (uncalibrated)`
        : outcome === 'sql'
          ? 'calibrated lead score: P(SQL within 30 days)'
          : 'calibrated lead score: 1 - P(SQL within 30 days)',
    }),
    facts: gateFacts(context, deal.value),
  };
}
