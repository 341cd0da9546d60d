// What an agent is, and what it sees. An agent turns the context of one subject (a contact with its account,
// features, latest score, recent events and history) into zero or more proposals. Loading lives in context.ts;
// an agent's decision logic is pure, so the same context always gives the same proposals.
//
// Money: `expected_value` and `risk` are in the deal currency (what opportunities are recorded in). The expected
// value is what doing it is worth on average; the risk is the expected loss if it turns out wrong
// (P(wrong) x loss if wrong). Each agent documents how it computes both.
import type { WorkingHours } from '../db/schema.ts';
import type { FeatureRow } from '../features/compute.ts';
import type { Factor } from '../models/explain.ts';
import type { Action, ActionType } from './actions.ts';
import type { Proposal } from './submit-proposal.ts';

export type { Proposal };

export interface Agent {
  name: string;
  /** Bumped whenever the decision logic or a constant changes; recorded on every proposal. */
  version: string;
  /** The action kind it proposes: one open proposal per subject and kind. */
  kind: ActionType;
  description: string;
  propose(context: AgentContext): Promise<Proposal[]>;
}

/** An agent whose proposals depend on each other (routing shares reps' capacity across the batch). */
export interface BatchAgent extends Agent {
  proposeBatch(contexts: AgentContext[]): Promise<BatchResult>;
}

export interface BatchResult {
  proposals: Proposal[];
  /** Subjects the agent considered and proposes nothing for, with why. */
  skipped: { contactId: string; reason: string }[];
  summary: Record<string, unknown>;
}

export function isBatchAgent(agent: Agent): agent is BatchAgent {
  return 'proposeBatch' in agent;
}

export interface AgentContact {
  id: string;
  accountId: string | null;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  seniority: string | null;
  department: string | null;
  lifecycleStage: string;
  lifecycleStageAt: Date | null;
  ownerId: string | null;
  timezone: string | null;
  country: string | null;
}

export interface AgentAccount {
  id: string;
  name: string;
  industry: string | null;
  sizeBand: string | null;
  employees: number | null;
  region: string | null;
  country: string | null;
  tier: string | null;
  ownerId: string | null;
}

/** Territory rules: every list present must contain the account's value; an empty rule set matches all. */
export interface TerritoryRules {
  regions?: string[];
  countries?: string[];
  industries?: string[];
  size_bands?: string[];
}

export interface Rep {
  id: string;
  name: string;
  email: string;
  teamId: string | null;
  territoryId: string | null;
  territoryName: string | null;
  /** Null: the rep has no territory and is never eligible by rules. */
  territoryRules: TerritoryRules | null;
  capacity: number;
  skills: string[];
  timezone: string;
  workingHours: WorkingHours | null;
  /** Open contacts (lead, mql, sql) and open opportunities owned now. */
  load: number;
}

export interface AgentScore {
  probability: number;
  modelName: string;
  modelId: string | null;
  modelVersion: number | null;
  alias: string;
  isPrior: boolean;
  factors: { for: Factor[]; against: Factor[] };
  featureSnapshot: FeatureRow;
  asOf: Date;
  scoredAt: Date;
  /** When the scoring model was trained (null for the prior). */
  modelTrainedAt: Date | null;
}

export interface AgentEvent {
  id: string;
  type: string;
  occurredAt: Date;
  /** call.logged: connected / voicemail / no_answer ...; email.bounced: hard / soft. */
  outcome: string | null;
  direction: string | null;
}

export interface OpenDecision {
  id: string;
  agent: string;
  actionKind: string;
  status: string;
  action: Action;
  createdAt: Date;
}

export interface AgentHistory {
  stages: { fromStage: string | null; toStage: string; changedAt: Date }[];
  opportunities: { id: string; status: string; stage: string; amount: number | null }[];
  /** Open decisions about this contact, any agent. */
  openDecisions: OpenDecision[];
}

/** Outbound touches and responses by channel: counts that response rates are learned from. */
export interface ChannelCounts {
  emailsSent: number;
  emailReplies: number;
  emailClicks: number;
  calls: number;
  callsConnected: number;
  meetingsBooked: number;
  meetingsHeld: number;
}

export interface DealValue {
  value: number;
  /** 'won_deals': median won amount for the band; 'all_bands': median over all bands; 'fallback': constant. */
  basis: 'won_deals' | 'all_bands' | 'fallback';
  deals: number;
}

export interface WinRecord {
  won: number;
  closed: number;
}

/** Shared by every subject of a run: loaded once. */
export interface AgentEnvironment {
  now: Date;
  reps: Rep[];
  repsById: Map<string, Rep>;
  dealValues: Map<string, DealValue>;
  /** Channel counts of similar contacts (segment key, see segmentOf) and of everyone. */
  channels: { global: ChannelCounts; bySegment: Map<string, ChannelCounts> };
  /** Weighted responses per local hour of week (168 bins, Monday 00:00 first), by segment and overall. */
  responseHours: { global: number[]; bySegment: Map<string, number[]> };
  /** Closed opportunities per rep and per team, by account size band. */
  winRecords: {
    byRep: Map<string, Map<string, WinRecord>>;
    byTeam: Map<string, Map<string, WinRecord>>;
    global: Map<string, WinRecord>;
  };
}

export interface AgentContext {
  now: Date;
  contact: AgentContact;
  account: AgentAccount | null;
  owner: Rep | null;
  /** The online feature store row (null when the contact was never materialized). */
  features: { values: FeatureRow; featureSet: string; featureSetVersion: number; asOf: Date } | null;
  score: AgentScore | null;
  /** The contact's events of the last EVENT_WINDOW_DAYS, newest first. */
  events: AgentEvent[];
  history: AgentHistory;
  /** Graph features of the contact (as last computed), for the record. */
  graph: Record<string, number>;
  env: AgentEnvironment;
}

/** Similar contacts share the account's size band and the contact's seniority. */
export function segmentOf(contact: Pick<AgentContact, 'seniority'>, account: AgentAccount | null): string {
  return `${account?.sizeBand ?? 'unknown'}:${contact.seniority ?? 'unknown'}`;
}

/** Days since the last engagement event, from the events themselves (not the possibly older score). */
export function daysSinceLastEngagement(context: Pick<AgentContext, 'events' | 'now'>): number | null {
  const last = context.events.find((e) => ENGAGEMENT_TYPES.has(e.type));
  return last ? (context.now.getTime() - last.occurredAt.getTime()) / 86_400_000 : null;
}

/** The same list as the engagement features (features/definitions.ts). */
export const ENGAGEMENT_TYPES = new Set([
  'email.opened',
  'email.clicked',
  'email.replied',
  'web.page_viewed',
  'web.form_submitted',
  'meeting.booked',
  'meeting.held',
  'call.logged',
]);

/** The facts the gate sees, common to every agent. */
export function gateFacts(
  context: AgentContext,
  dealSize: number | null,
  skills: string[] = [],
): Proposal['facts'] {
  const trainedAt = context.score?.modelTrainedAt;
  return {
    deal_size: dealSize,
    account_tier: context.account?.tier ?? null,
    segment: context.account?.sizeBand ?? null,
    // Never negative: a model trained after the moment decided about (replays, simulations) is brand new.
    model_age_days: trainedAt
      ? Math.max(0, Math.round(((context.now.getTime() - trainedAt.getTime()) / 86_400_000) * 10) / 10)
      : null,
    skills,
  };
}

/** How many of the contact's event ids go into a proposal's inputs (newest first). */
export const MAX_INPUT_EVENT_IDS = 100;

/** The exact inputs of a proposal: feature snapshot, model, agent, events considered, plus the agent's own. */
export function baseInputs(
  agent: Pick<Agent, 'name' | 'version'>,
  context: AgentContext,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const score = context.score;
  return {
    agent: { name: agent.name, version: agent.version },
    as_of: context.now.toISOString(),
    feature_snapshot: score?.featureSnapshot ?? context.features?.values ?? {},
    feature_set: context.features
      ? {
          name: context.features.featureSet,
          version: context.features.featureSetVersion,
          as_of: context.features.asOf.toISOString(),
        }
      : null,
    model: score
      ? {
          name: score.modelName,
          id: score.modelId,
          version: score.modelVersion,
          alias: score.alias,
          is_prior: score.isPrior,
          probability: score.probability,
          scored_at: score.scoredAt.toISOString(),
          features_as_of: score.asOf.toISOString(),
        }
      : null,
    graph_features: context.graph,
    event_ids: context.events.slice(0, MAX_INPUT_EVENT_IDS).map((e) => e.id),
    events_considered: context.events.length,
    ...extra,
  };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function money(value: number): string {
  return `${Math.round(value).toLocaleString('en-US')}`;
}

export function percent(value: number): string {
  // "0 %" would claim a certainty no calibrated model has; say how small instead.
  if (value > 0 && value < 0.005) return '< 1 %';
  if (value < 1 && value > 0.995) return '> 99 %';
  return `${Math.round(value * 100)} %`;
}
