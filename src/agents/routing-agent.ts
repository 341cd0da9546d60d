// Routing: an owner for every lead without one, decided for the whole batch at once. Candidates are active reps
// whose territory rules match the account; what a pairing is worth combines the lead's value, the rep's win rate
// in the account's segment (learned from closed deals, smoothed toward the team and everyone), working hours,
// the account's existing owner and the rep's current load. Capacity left and a fairness cap bound how many
// leads each rep takes, and the batch is solved exactly as a min-cost flow (assignment.ts), not first-come.
import type { WorkingHours } from '../db/schema.ts';
import {
  baseInputs,
  gateFacts,
  money,
  percent,
  round,
  type AgentAccount,
  type AgentContact,
  type AgentContext,
  type AgentEnvironment,
  type BatchAgent,
  type BatchResult,
  type Proposal,
  type Rep,
  type TerritoryRules,
} from './agent.ts';
import { greedyAssignment, solveAssignment, type AssignmentResult } from './assignment.ts';
import { OPEN_LEAD_STAGES } from './context.ts';
import { probabilityGreater, smoothRate, type RateEstimate } from './estimates.ts';
import { dealValueFor } from './qualification-agent.ts';
import { DEFAULT_WORKING_HOURS, inWorkingHours, minutesFromWorkingHours } from './time-zones.ts';

export const ROUTING_AGENT = 'routing';
export const ROUTING_VERSION = '1.0.0';

/** Win rate of closed deals before any history (B2B new business closes roughly one in four). */
export const PRIOR_WIN_RATE = 0.25;
/** Everyone's win rate per segment is pulled toward the prior with the weight of this many closed deals. */
export const GLOBAL_WIN_STRENGTH = 10;
/** A team's win rate per segment is pulled toward everyone's with the weight of this many closed deals. */
export const TEAM_WIN_STRENGTH = 10;
/** A rep's win rate per segment is pulled toward the team's with the weight of this many closed deals. */
export const REP_WIN_STRENGTH = 8;
/** A lead with no score yet is valued as if at this probability (the simulator's base rate is about 15 %). */
export const UNSCORED_PROBABILITY = 0.1;
/** Even a cold lead is worth routing; below this its value is floored so fit still ranks reps. */
export const MIN_LEAD_PROBABILITY = 0.02;
/**
 * The account's current owner is worth half the lead's value again: one face to the customer, context already
 * there (account-based routing).
 */
export const ACCOUNT_OWNER_BONUS = 0.5;
/** A rep already proposed for this lead (pending) keeps a small edge, so reruns do not flip between equals. */
export const STICKY_BONUS = 0.05;
/** The share of the lead's value lost per unit of the rep's utilisation (load / capacity): busy reps touch later. */
export const LOAD_PENALTY = 0.2;
/** In working hours now: full value; within NEAR_HOURS_MINUTES of them: a little less; otherwise the first touch waits. */
export const NEAR_HOURS_MINUTES = 120;
export const HOURS_FACTOR = { in: 1, near: 0.95, off: 0.85 } as const;
/** No rep gets more than this share of one batch (at least one lead). */
export const MAX_BATCH_SHARE = 0.25;
/** At most this many leads per solve, oldest first; the rest wait for the next run (every few minutes). */
export const MAX_BATCH_LEADS = 500;
/** What moving a lead to another owner costs: a manager's and two reps' time. */
export const REASSIGNMENT_COST = 50;
/** A lead routed to the wrong rep loses about a tenth of its value to a slower, less fitting first touch. */
export const MISROUTE_LOSS = 0.1;
/** With a single eligible rep, the doubt left is whether the account's region, country or size are right. */
export const SOLE_CANDIDATE_CONFIDENCE = 0.9;

export function territoryMatches(
  rules: TerritoryRules | null,
  account: Pick<AgentAccount, 'region' | 'country' | 'industry' | 'sizeBand'> | null,
  contact: Pick<AgentContact, 'country'>,
): boolean {
  if (!rules) return false;
  const check = (list: string[] | undefined, value: string | null | undefined) =>
    !list || list.length === 0 || (!!value && list.some((v) => v.toLowerCase() === value.toLowerCase()));
  return (
    check(rules.regions, account?.region) &&
    check(rules.countries, account?.country ?? contact.country) &&
    check(rules.industries, account?.industry) &&
    check(rules.size_bands, account?.sizeBand)
  );
}

/** The rep's win rate in a segment: rep -> team -> everyone -> prior. */
export function segmentWinRate(
  env: AgentEnvironment,
  rep: Rep,
  band: string,
): RateEstimate & { teamRate: number } {
  const global = env.winRecords.global.get(band) ?? { won: 0, closed: 0 };
  const team = rep.teamId ? env.winRecords.byTeam.get(rep.teamId)?.get(band) : undefined;
  const own = env.winRecords.byRep.get(rep.id)?.get(band) ?? { won: 0, closed: 0 };
  const globalRate = smoothRate(global.won, global.closed, PRIOR_WIN_RATE, GLOBAL_WIN_STRENGTH).rate;
  const teamRate = smoothRate(team?.won ?? 0, team?.closed ?? 0, globalRate, TEAM_WIN_STRENGTH).rate;
  return { ...smoothRate(own.won, own.closed, teamRate, REP_WIN_STRENGTH), teamRate };
}

export function hoursState(rep: Rep, now: Date): keyof typeof HOURS_FACTOR {
  const hours: WorkingHours = rep.workingHours ?? DEFAULT_WORKING_HOURS;
  if (inWorkingHours(now, rep.timezone, hours)) return 'in';
  return minutesFromWorkingHours(now, rep.timezone, hours) <= NEAR_HOURS_MINUTES ? 'near' : 'off';
}

export function isRoutable(context: AgentContext): boolean {
  return (
    context.contact.ownerId === null &&
    (OPEN_LEAD_STAGES as readonly string[]).includes(context.contact.lifecycleStage)
  );
}

interface Candidate {
  rep: Rep;
  fit: RateEstimate & { teamRate: number };
  /** The lead's value with this rep, and its variance from the uncertainty of the win rate. */
  value: number;
  variance: number;
  accountOwner: boolean;
  hours: keyof typeof HOURS_FACTOR;
  utilisation: number;
}

export interface RoutingLead {
  context: AgentContext;
  leadValue: number;
  probability: number;
  candidates: Candidate[];
}

export interface RoutingPlan {
  leads: RoutingLead[];
  reps: Rep[];
  costs: (number | null)[][];
  capacities: number[];
  fairnessCap: number;
  optimal: AssignmentResult;
  greedy: AssignmentResult;
  skipped: { contactId: string; reason: string }[];
}

/** Builds the batch problem and solves it (and the greedy baseline, for the record). Pure. */
export function planRouting(contexts: AgentContext[], env: AgentEnvironment): RoutingPlan {
  const skipped: { contactId: string; reason: string }[] = [];
  const routable = contexts.filter((c) => {
    if (isRoutable(c)) return true;
    skipped.push({
      contactId: c.contact.id,
      reason: c.contact.ownerId ? 'already has an owner' : `stage ${c.contact.lifecycleStage} is not routed`,
    });
    return false;
  });
  const batch = routable.slice(0, MAX_BATCH_LEADS);
  for (const c of routable.slice(MAX_BATCH_LEADS)) {
    skipped.push({
      contactId: c.contact.id,
      reason: `batch limit of ${MAX_BATCH_LEADS}: waits for the next run`,
    });
  }
  const reps = env.reps;
  const repIndex = new Map(reps.map((r, i) => [r.id, i]));
  const hours = new Map(reps.map((r) => [r.id, hoursState(r, env.now)]));

  const leads: RoutingLead[] = [];
  for (const context of batch) {
    const band = context.account?.sizeBand ?? 'unknown';
    const probability = Math.max(MIN_LEAD_PROBABILITY, context.score?.probability ?? UNSCORED_PROBABILITY);
    const leadValue = probability * dealValueFor(context).value;
    const pendingOwner = context.history.openDecisions.find(
      (d) => d.agent === ROUTING_AGENT && d.actionKind === 'lead.assign_owner',
    )?.action.params['owner_id'];
    const candidates: Candidate[] = [];
    for (const rep of reps) {
      if (!territoryMatches(rep.territoryRules, context.account, context.contact)) continue;
      const fit = segmentWinRate(env, rep, band);
      const state = hours.get(rep.id)!;
      const accountOwner = context.account?.ownerId === rep.id;
      const utilisation = rep.capacity > 0 ? rep.load / rep.capacity : 1;
      const scale =
        (leadValue / fit.teamRate) *
        HOURS_FACTOR[state] *
        (1 + (accountOwner ? ACCOUNT_OWNER_BONUS : 0) + (pendingOwner === rep.id ? STICKY_BONUS : 0));
      candidates.push({
        rep,
        fit,
        value: scale * fit.rate - LOAD_PENALTY * leadValue * Math.min(utilisation, 2),
        variance: scale * scale * fit.variance,
        accountOwner,
        hours: state,
        utilisation,
      });
    }
    if (candidates.length === 0) {
      skipped.push({
        contactId: context.contact.id,
        reason: `no active rep's territory matches (region ${context.account?.region ?? 'unknown'}, country ${context.account?.country ?? context.contact.country ?? 'unknown'})`,
      });
      continue;
    }
    candidates.sort((a, b) => b.value - a.value || a.rep.id.localeCompare(b.rep.id));
    leads.push({ context, leadValue, probability, candidates });
  }

  const fairnessCap = Math.max(1, Math.ceil(MAX_BATCH_SHARE * leads.length));
  const capacities = reps.map((r) => Math.min(Math.max(0, r.capacity - r.load), fairnessCap));
  const costs = leads.map((lead) => {
    const row: (number | null)[] = new Array(reps.length).fill(null);
    for (const c of lead.candidates) row[repIndex.get(c.rep.id)!] = -c.value;
    return row;
  });
  const problem = { costs, capacities };
  const optimal = solveAssignment(problem);
  const greedy = greedyAssignment(problem);
  leads.forEach((lead, i) => {
    if (optimal.assignment[i] === null) {
      skipped.push({
        contactId: lead.context.contact.id,
        reason:
          'every eligible rep is at capacity or at the fairness cap for this batch; waits for the next run',
      });
    }
  });
  return { leads, reps, costs, capacities, fairnessCap, optimal, greedy, skipped };
}

export function proposeRoutingBatch(contexts: AgentContext[]): BatchResult {
  if (contexts.length === 0) return { proposals: [], skipped: [], summary: { leads: 0 } };
  const env = contexts[0]!.env;
  const plan = planRouting(contexts, env);
  const taken = new Array<number>(plan.reps.length).fill(0);
  for (const j of plan.optimal.assignment) if (j !== null) taken[j]!++;
  const proposals: Proposal[] = [];
  plan.leads.forEach((lead, i) => {
    const j = plan.optimal.assignment[i];
    if (j === null || j === undefined) return;
    proposals.push(routingProposal(lead, plan.reps[j]!, plan, taken));
  });
  return {
    proposals,
    skipped: plan.skipped,
    summary: {
      leads: plan.leads.length,
      assigned: plan.optimal.assigned,
      optimal_value: round(-plan.optimal.totalCost),
      greedy_value: round(-plan.greedy.totalCost),
      greedy_assigned: plan.greedy.assigned,
      fairness_cap: plan.fairnessCap,
    },
  };
}

function routingProposal(lead: RoutingLead, rep: Rep, plan: RoutingPlan, taken: number[]): Proposal {
  const { context } = lead;
  const band = context.account?.sizeBand ?? 'unknown';
  const chosen = lead.candidates.find((c) => c.rep.id === rep.id)!;
  const others = lead.candidates.filter((c) => c.rep.id !== rep.id);
  const best = others[0];
  const confidence = best
    ? probabilityGreater(chosen.value, chosen.variance, best.value, best.variance)
    : SOLE_CANDIDATE_CONFIDENCE;
  const repIndex = new Map(plan.reps.map((r, i) => [r.id, i]));
  const slots = (r: Rep) => plan.capacities[repIndex.get(r.id)!]!;
  const describe = (c: Candidate) =>
    `${c.rep.name}: ${percent(c.fit.rate)} win rate in ${band} (${c.fit.trials} closed), load ${c.rep.load}/${c.rep.capacity}` +
    `${c.accountOwner ? ', owns the account' : ''}, ${c.hours === 'in' ? 'in working hours' : c.hours === 'near' ? 'near working hours' : 'off shift'}`;

  const forFactors = [
    {
      feature: 'territory',
      phrase: `${rep.territoryName ?? 'territory'} covers ${context.account?.region ?? context.contact.country ?? 'the lead'}`,
      contribution: 0,
    },
    {
      feature: 'rep_segment_win_rate',
      phrase: `${rep.name} wins ${percent(chosen.fit.rate)} of ${band} deals (team ${percent(chosen.fit.teamRate)})`,
      contribution: round(chosen.fit.rate - chosen.fit.teamRate, 3),
    },
    ...(chosen.accountOwner
      ? [
          {
            feature: 'account_owner',
            phrase: `${rep.name} already owns the account`,
            contribution: ACCOUNT_OWNER_BONUS,
          },
        ]
      : []),
    {
      feature: 'rep_capacity',
      phrase: `${rep.capacity - rep.load} of ${rep.capacity} slots free before this batch`,
      contribution: round(1 - chosen.utilisation, 3),
    },
  ];
  const againstFactors = [
    ...(chosen.hours !== 'in'
      ? [
          {
            feature: 'working_hours',
            phrase: `${rep.name} is ${chosen.hours === 'near' ? 'near the edge of' : 'outside'} working hours now`,
            contribution: round(HOURS_FACTOR[chosen.hours] - 1, 3),
          },
        ]
      : []),
    ...(chosen.fit.rate < chosen.fit.teamRate
      ? [
          {
            feature: 'rep_segment_win_rate',
            phrase: `below the team's ${percent(chosen.fit.teamRate)} in ${band}`,
            contribution: round(chosen.fit.rate - chosen.fit.teamRate, 3),
          },
        ]
      : []),
    ...(chosen.fit.trials < 5
      ? [
          {
            feature: 'rep_history',
            phrase: `only ${chosen.fit.trials} closed ${band} deals to judge by`,
            contribution: 0,
          },
        ]
      : []),
  ];

  const whyNot = (c: Candidate) => {
    const j = repIndex.get(c.rep.id)!;
    if (slots(c.rep) === 0) return `no capacity left (${c.rep.load}/${c.rep.capacity})`;
    if (taken[j]! >= slots(c.rep) && c.value > chosen.value)
      return `worth more here alone, but its ${slots(c.rep)} slot(s) in this batch are worth more on other leads`;
    return `lower expected value: ${describe(c)}`;
  };
  const dissent = best
    ? best.value > chosen.value
      ? `${best.rep.name} would be worth more for this lead alone (${money(best.value)} vs ${money(chosen.value)}): ` +
        `${describe(best)}. The batch optimum gave ${best.rep.name}'s slots to leads that gain more.`
      : `${best.rep.name} is a close alternative (${describe(best)}); ${rep.name}'s edge rests on ` +
        `${chosen.fit.trials} closed ${band} deals, and a ${percent(1 - confidence)} chance remains that ${best.rep.name} is the better fit.`
    : `${rep.name} is the only rep whose territory matches; if the account's region, country or size is wrong in the CRM, so is this owner.`;

  const deal = dealValueFor(context);
  return {
    agent: ROUTING_AGENT,
    agent_version: ROUTING_VERSION,
    subject_type: 'contact',
    subject_id: context.contact.id,
    action: {
      type: 'lead.assign_owner',
      params: {
        contact_id: context.contact.id,
        owner_id: rep.id,
        previous_owner_id: context.contact.ownerId,
      },
    },
    confidence: round(confidence, 4),
    expected_value: round(chosen.value),
    risk: round((1 - confidence) * (REASSIGNMENT_COST + lead.leadValue * MISROUTE_LOSS)),
    explanation: {
      summary:
        `Assign to ${rep.name} (${rep.territoryName ?? 'no territory'}): ${describe(chosen)}. ` +
        `Solved with ${plan.leads.length} lead(s) in the batch; at most ${plan.fairnessCap} per rep.`,
      for: forFactors,
      against: againstFactors,
    },
    dissent,
    mitigations: [
      'An owner change is undone by one reassignment; the previous owner (none) is recorded for compensation.',
      `Capacity and a fairness cap bound each rep: at most ${plan.fairnessCap} lead(s) of this batch per rep, never beyond capacity.`,
      'Routing reruns every few minutes: a pending proposal is withdrawn as soon as the contact gets an owner another way.',
    ],
    alternatives: others.slice(0, 3).map((c) => ({
      action: `lead.assign_owner:${c.rep.id}`,
      expected_value: round(c.value),
      why_not: `${c.rep.name}: ${whyNot(c)}`,
    })),
    inputs: baseInputs(routingAgent, context, {
      lead_value: round(lead.leadValue),
      lead_probability: lead.probability,
      deal_value: { ...deal, band },
      candidates: lead.candidates.map((c) => ({
        rep_id: c.rep.id,
        name: c.rep.name,
        territory: c.rep.territoryName,
        win_rate: round(c.fit.rate, 4),
        win_rate_closed_deals: c.fit.trials,
        team_win_rate: round(c.fit.teamRate, 4),
        capacity: c.rep.capacity,
        load: c.rep.load,
        batch_slots: slots(c.rep),
        hours: c.hours,
        account_owner: c.accountOwner,
        value: round(c.value),
      })),
      batch: {
        leads: plan.leads.length,
        fairness_cap: plan.fairnessCap,
        optimal_value: round(-plan.optimal.totalCost),
        greedy_value: round(-plan.greedy.totalCost),
      },
      confidence_method: best
        ? 'P(value with this rep > value with the best alternative), normal approximation of the Beta posteriors of their segment win rates'
        : `single eligible rep: ${SOLE_CANDIDATE_CONFIDENCE} (doubt about the account data)`,
    }),
    facts: gateFacts(context, deal.value, [
      band,
      ...(context.account?.industry ? [context.account.industry] : []),
    ]),
  };
}

export const routingAgent: BatchAgent = {
  name: ROUTING_AGENT,
  version: ROUTING_VERSION,
  kind: 'lead.assign_owner',
  description:
    'Assigns an owner to leads without one: territory rules, capacity left, rep-segment win rate learned from ' +
    `closed deals, working hours, at most ${MAX_BATCH_SHARE * 100} % of a batch per rep; the batch is solved ` +
    'exactly as a min-cost flow.',
  async propose(context) {
    return proposeRoutingBatch([context]).proposals;
  },
  async proposeBatch(contexts) {
    return proposeRoutingBatch(contexts);
  },
};
