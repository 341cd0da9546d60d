// Hand-built agent contexts for the pure tests: everything an agent sees, with nothing loaded.
import type {
  AgentContext,
  AgentEnvironment,
  AgentEvent,
  ChannelCounts,
  Rep,
} from '../../src/agents/agent.ts';
import { emptyChannelCounts } from '../../src/agents/estimates.ts';

export const NOW = new Date('2026-06-01T10:00:00Z');

let sequence = 0;
export function uuid(n = ++sequence): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export function rep(overrides: Partial<Rep> = {}): Rep {
  return {
    id: uuid(),
    name: 'Rep',
    email: 'rep@example.com',
    teamId: 'team-1',
    territoryId: 'territory-na',
    territoryName: 'NA',
    territoryRules: { regions: ['NA'] },
    capacity: 40,
    skills: [],
    timezone: 'America/New_York',
    workingHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
    load: 10,
    ...overrides,
  };
}

export function environment(overrides: Partial<AgentEnvironment> = {}): AgentEnvironment {
  const reps = overrides.reps ?? [];
  const global: ChannelCounts = {
    ...emptyChannelCounts(),
    emailsSent: 1000,
    emailReplies: 50,
    emailClicks: 30,
    calls: 300,
    callsConnected: 90,
    meetingsBooked: 50,
    meetingsHeld: 40,
  };
  return {
    now: NOW,
    reps,
    repsById: new Map(reps.map((r) => [r.id, r])),
    dealValues: new Map([
      ['smb', { value: 12_000, basis: 'fallback', deals: 0 }],
      ['mid_market', { value: 45_000, basis: 'fallback', deals: 0 }],
      ['enterprise', { value: 150_000, basis: 'fallback', deals: 0 }],
    ]),
    channels: { global, bySegment: new Map() },
    responseHours: { global: new Array(168).fill(0), bySegment: new Map() },
    winRecords: { byRep: new Map(), byTeam: new Map(), global: new Map() },
    ...overrides,
  };
}

export function event(type: string, at: Date, extra: Partial<AgentEvent> = {}): AgentEvent {
  return { id: String(++sequence), type, occurredAt: at, outcome: null, direction: null, ...extra };
}

export function context(
  overrides: {
    probability?: number | null;
    isPrior?: boolean;
    stage?: string;
    owner?: Rep | null;
    events?: AgentEvent[];
    env?: AgentEnvironment;
    sizeBand?: string;
    region?: string;
    country?: string;
    phone?: string | null;
    timezone?: string | null;
    stageAt?: Date | null;
    openDecisions?: AgentContext['history']['openDecisions'];
    accountOwnerId?: string | null;
  } = {},
): AgentContext {
  const env = overrides.env ?? environment();
  const owner = overrides.owner === undefined ? null : overrides.owner;
  const probability = overrides.probability === undefined ? 0.2 : overrides.probability;
  const id = uuid();
  return {
    now: env.now,
    contact: {
      id,
      accountId: 'account-1',
      email: 'pat@acme.example',
      phone: overrides.phone === undefined ? '+15555550100' : overrides.phone,
      firstName: 'Pat',
      lastName: 'Lee',
      title: 'VP Operations',
      seniority: 'vp',
      department: 'operations',
      lifecycleStage: overrides.stage ?? 'lead',
      lifecycleStageAt:
        overrides.stageAt === undefined ? new Date(NOW.getTime() - 20 * 86_400_000) : overrides.stageAt,
      ownerId: owner?.id ?? null,
      timezone: overrides.timezone ?? null,
      country: overrides.country ?? 'US',
    },
    account: {
      id: 'account-1',
      name: 'Acme',
      industry: 'software',
      sizeBand: overrides.sizeBand ?? 'mid_market',
      employees: 400,
      region: overrides.region ?? 'NA',
      country: overrides.country ?? 'US',
      tier: 'A',
      ownerId: overrides.accountOwnerId ?? null,
    },
    owner,
    features: {
      values: { pricing_views_14d: 2 },
      featureSet: 'lead_scoring',
      featureSetVersion: 1,
      asOf: NOW,
    },
    score:
      probability === null
        ? null
        : {
            probability,
            modelName: 'lead_score',
            modelId: overrides.isPrior ? null : uuid(),
            modelVersion: overrides.isPrior ? null : 3,
            alias: 'champion',
            isPrior: overrides.isPrior ?? false,
            factors: {
              for: [
                {
                  feature: 'pricing_views_14d',
                  phrase: 'visited pricing 2 times in 14 days',
                  value: 2,
                  contribution: 0.9,
                },
              ],
              against: [
                {
                  feature: 'days_since_last_touch',
                  phrase: 'last engaged 9 days ago',
                  value: 9,
                  contribution: -0.27,
                },
              ],
            },
            featureSnapshot: { pricing_views_14d: 2, days_since_last_touch: 9 },
            asOf: NOW,
            scoredAt: NOW,
            modelTrainedAt: new Date(NOW.getTime() - 3 * 86_400_000),
          },
    events: overrides.events ?? [],
    history: { stages: [], opportunities: [], openDecisions: overrides.openDecisions ?? [] },
    graph: {},
    env,
  };
}
