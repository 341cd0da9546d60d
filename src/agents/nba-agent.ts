// Next-best-action: among email, call, meeting request, nurture sequence, escalation to an AE and
// disqualification, the one with the highest expected value (action-values.ts). The alternatives are listed
// with their expected values; the dissent is the runner-up's case.
import {
  baseInputs,
  gateFacts,
  money,
  percent,
  round,
  type Agent,
  type AgentContext,
  type Proposal,
} from './agent.ts';
import {
  estimateActions,
  NBA_STAGES,
  rankActions,
  type ActionEstimate,
  type NextAction,
} from './action-values.ts';
import { probabilityGreater } from './estimates.ts';
import { dealValueFor } from './qualification-agent.ts';

export const NBA_AGENT = 'next-best-action';
export const NBA_VERSION = '1.0.0';

const LABEL: Record<NextAction, string> = {
  email: 'Send a personal email',
  call: 'Call',
  meeting_request: 'Ask for a meeting',
  nurture_sequence: 'Enrol in a nurture sequence',
  escalate_to_ae: 'Escalate to an account executive',
  disqualify: 'Disqualify',
};

const SUCCESS: Record<NextAction, string> = {
  email: 'a reply',
  call: 'a conversation',
  meeting_request: 'a meeting held',
  nurture_sequence: 'a click',
  escalate_to_ae: 'the lead being ready',
  disqualify: 'the lead being truly cold',
};

/**
 * A waiting recommendation is kept while its expected value is within 5 % of the best (of the best's size), so
 * small drifts in the learned rates do not replace it with a near-equal one.
 */
export const STICKY_MARGIN = 0.05;

/**
 * The chosen action: the argmax of expected value among the eligible ones (or the waiting recommendation when it
 * is within STICKY_MARGIN of it). Null when nothing is eligible.
 */
export function chooseNextAction(
  estimates: ActionEstimate[],
  pending: NextAction | null = null,
): {
  chosen: ActionEstimate;
  runnerUp: ActionEstimate | null;
  ranked: ActionEstimate[];
} | null {
  const ranked = rankActions(estimates);
  if (ranked.length === 0) return null;
  const best = ranked[0]!;
  const kept = ranked.find((e) => e.action === pending);
  if (
    kept &&
    kept !== best &&
    kept.expectedValue >= best.expectedValue - STICKY_MARGIN * Math.abs(best.expectedValue)
  ) {
    const reordered = [kept, ...ranked.filter((e) => e !== kept)];
    return { chosen: kept, runnerUp: reordered[1] ?? null, ranked: reordered };
  }
  return { chosen: best, runnerUp: ranked[1] ?? null, ranked };
}

/** P(the chosen action's expected value beats the runner-up's), from the uncertainty of their probabilities. */
export function nbaConfidence(chosen: ActionEstimate, runnerUp: ActionEstimate | null): number {
  if (!runnerUp) return 0.95;
  return probabilityGreater(chosen.expectedValue, chosen.variance, runnerUp.expectedValue, runnerUp.variance);
}

export const nbaAgent: Agent = {
  name: NBA_AGENT,
  version: NBA_VERSION,
  kind: 'nba.recommend',
  description:
    'Chooses the next action (email, call, meeting request, nurture sequence, escalate to an AE, disqualify) by ' +
    'expected value = P(success | action, contact) x value of success − cost; lists the alternatives.',
  async propose(context) {
    const proposal = proposeNextAction(context);
    return proposal ? [proposal] : [];
  },
};

export function proposeNextAction(context: AgentContext): Proposal | null {
  if (!(NBA_STAGES as readonly string[]).includes(context.contact.lifecycleStage)) return null;
  const estimates = estimateActions(context);
  const pending = context.history.openDecisions.find(
    (d) => d.agent === NBA_AGENT && (d.status === 'pending_review' || d.status === 'proposed'),
  )?.action.params['action'] as NextAction | undefined;
  const choice = chooseNextAction(estimates, pending ?? null);
  if (!choice) return null;
  const { chosen, runnerUp } = choice;
  const confidence = nbaConfidence(chosen, runnerUp);
  const deal = dealValueFor(context);
  const score = context.score;

  const scoreFor = (score?.factors.for ?? []).map((f) => ({ ...pick(f) }));
  const scoreAgainst = (score?.factors.against ?? []).map((f) => ({ ...pick(f) }));
  const positive = chosen.action !== 'disqualify' && chosen.action !== 'nurture_sequence';
  const economics = {
    feature: `p_success_${chosen.action}`,
    phrase: `${percent(chosen.probability)} chance of ${SUCCESS[chosen.action]}, worth ${money(chosen.successValue)}, for ${money(chosen.cost)} of effort`,
    contribution: round(chosen.expectedValue, 2),
  };
  const margin = runnerUp
    ? {
        feature: 'margin_over_runner_up',
        phrase: `${money(chosen.expectedValue - runnerUp.expectedValue)} more than ${LABEL[runnerUp.action].toLowerCase()}`,
        contribution: round(chosen.expectedValue - runnerUp.expectedValue, 2),
      }
    : null;

  const dissent = runnerUp
    ? `${LABEL[runnerUp.action]} is worth ${money(runnerUp.expectedValue)} against ${money(chosen.expectedValue)}: ` +
      `${percent(runnerUp.probability)} chance of ${SUCCESS[runnerUp.action]} worth ${money(runnerUp.successValue)}, ` +
      `for ${money(runnerUp.cost)}. The estimates are uncertain; there is a ${percent(1 - confidence)} chance it is the better choice.`
    : `No other action is possible for this contact (${estimates
        .filter((e) => !e.eligible)
        .map((e) => `${e.action}: ${e.blocked}`)
        .join('; ')}); doing nothing is the alternative.`;

  const mitigations = [
    'A recommendation only: the owner decides how to act on it, and nothing is sent by this proposal.',
    'Rates are re-learned from every new reply, call and meeting; a new event re-runs this agent and replaces a pending recommendation.',
    ...(chosen.action === 'disqualify'
      ? ['A disqualified contact that engages again is rescored and comes back to the funnel.']
      : chosen.action === 'escalate_to_ae'
        ? ['The AE can hand the lead back to the SDR after the first conversation.']
        : [
            'Cadence limits (touches per week, gap between touches) are enforced when the follow-up is scheduled.',
          ]),
  ];

  return {
    agent: NBA_AGENT,
    agent_version: NBA_VERSION,
    subject_type: 'contact',
    subject_id: context.contact.id,
    action: {
      type: 'nba.recommend',
      params: {
        contact_id: context.contact.id,
        action: chosen.action,
        owner_id: context.contact.ownerId,
        note: `${LABEL[chosen.action]}: highest expected value of the ${choice.ranked.length} possible actions.`,
      },
    },
    confidence: round(confidence, 4),
    expected_value: round(chosen.expectedValue),
    // Expected loss if it does not work: the effort, and for a disqualification the value given up.
    risk: round((1 - chosen.probability) * chosen.cost + chosen.forgone),
    explanation: {
      summary:
        `${LABEL[chosen.action]}: expected value ${money(chosen.expectedValue)} ` +
        `(${formula(chosen)})` +
        (runnerUp
          ? `; next best: ${LABEL[runnerUp.action].toLowerCase()} at ${money(runnerUp.expectedValue)}.`
          : '.'),
      for: [economics, ...(margin ? [margin] : []), ...(positive ? scoreFor : scoreAgainst)],
      against: positive ? scoreAgainst : scoreFor,
    },
    dissent,
    mitigations,
    alternatives: estimates
      .filter((e) => e.action !== chosen.action)
      .map((e) => ({
        action: `nba.recommend:${e.action}`,
        expected_value: e.eligible ? round(e.expectedValue) : null,
        why_not: e.eligible
          ? `expected value ${money(e.expectedValue)} is ${money(chosen.expectedValue - e.expectedValue)} lower (${formula(e)})`
          : `not possible: ${e.blocked}`,
      })),
    inputs: baseInputs(nbaAgent, context, {
      deal_value: { ...deal, band: context.account?.sizeBand ?? 'unknown' },
      estimates: estimates.map((e) => ({
        action: e.action,
        eligible: e.eligible,
        blocked: e.blocked,
        probability: round(e.probability, 4),
        success_value: round(e.successValue),
        cost: e.cost,
        expected_value: round(e.expectedValue),
        basis: e.basis,
      })),
      confidence_method: runnerUp
        ? 'P(EV of the chosen action > EV of the runner-up), normal approximation from the Beta posteriors of the rates'
        : 'single possible action: 0.95',
    }),
    facts: gateFacts(context, deal.value),
  };
}

function formula(e: ActionEstimate): string {
  return (
    `${percent(e.probability)} x ${money(e.successValue)} − ${money(e.cost)}` +
    (e.forgone > 0 ? ` − ${money(e.forgone)} forgone` : '')
  );
}

function pick(f: { feature: string; phrase: string; contribution: number }) {
  return { feature: f.feature, phrase: f.phrase, contribution: f.contribution };
}
