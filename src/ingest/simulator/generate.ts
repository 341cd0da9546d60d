// The funnel simulator: a deterministic B2B world from a seed, with the truth behind it written down.
// `events()` is lazy: it builds one account at a time, sorts that account's events by time and yields them, so a
// world of any size streams in bounded memory. Ids are `sim-<seed>-<n>`, so the same run twice is all duplicates.
import type { CloudEvent } from '../catalogue.ts';
import {
  QUARTER_END_PULL_IN,
  simulateAccount,
  SIZE_DURATION_MULTIPLIER,
  STAGE_MEDIAN_DAYS,
  STAGE_DURATION_SIGMA,
  STAGE_PASS_RATE,
  type DraftEvent,
  type WorldContext,
} from './account-timeline.ts';
import { describeLeadModel, type LeadModelTruth } from './lead-model.ts';
import { resolveParams, type ResolvedParams, type SimulationParamsInput } from './params.ts';
import { createRandom } from './random.ts';
import { MONTHLY_ARRIVAL_WEIGHTS, REGION_INFO, type SizeBand } from './reference-data.ts';
import { buildStaff, type RepTruth, type SimulationSetup } from './staff.ts';

export { simulationParamsSchema, type SimulationParamsInput, type ResolvedParams } from './params.ts';
export type { SimulationSetup } from './staff.ts';

export interface SimulationSummary {
  /** Complete once `events()` has been iterated to the end; counts so far while it runs. */
  complete: boolean;
  accounts: number;
  contacts: number;
  freeMailContacts: number;
  /** Leads whose 14 + 30 days ended before `now`, so their outcome is known. */
  leadsLabelled: number;
  sqlWithin30Days: number;
  observedSqlRate: number;
  opportunities: number;
  won: number;
  lost: number;
  open: number;
  wonAmount: number;
  customers: number;
  events: number;
  eventsByType: Record<string, number>;
}

export interface GroundTruth {
  seed: number;
  params: Record<string, unknown>;
  leadModel: LeadModelTruth;
  opportunities: {
    stages: string[];
    stageMedianDays: Record<string, number>;
    stageDurationSigma: number;
    sizeDurationMultiplier: Record<SizeBand, number>;
    stagePassRate: Record<string, number>;
    /** Win rate of an average rep (the product of the pass rates); a rep's multiplier scales it. */
    baseWinRate: number;
  };
  reps: RepTruth[];
  bottleneck: {
    stage: string;
    region: string;
    startDate: string;
    slowdownFactor: number;
    conversionFactor: number;
    description: string;
  } | null;
  seasonality: {
    enabled: boolean;
    monthlyArrivalWeights: number[];
    quarterEndPullIn: { probability: number; windowDays: number } | null;
  };
  summary: SimulationSummary;
}

export interface SimulatedFunnel {
  params: ResolvedParams;
  setup: SimulationSetup;
  groundTruth: GroundTruth;
  /** A fresh, lazy pass over the world's events each time it is called. */
  events(): Generator<CloudEvent, void, undefined>;
}

export function simulateFunnel(input: SimulationParamsInput): SimulatedFunnel {
  const params = resolveParams(input);
  const root = createRandom(params.seed);
  const staff = buildStaff(root.fork('staff'), params.regions, params.repsPerRegion);
  const groundTruth = describeTruth(params, staff.reps, describeLeadModel(root.fork('lead-model-sample')));

  function* events(): Generator<CloudEvent, void, undefined> {
    const summary = emptySummary();
    groundTruth.summary = summary;
    const world: WorldContext = {
      params,
      rng: root,
      idPrefix: `s${params.seed}`,
      start: params.startDate.getTime(),
      horizon: params.now.getTime(),
      regionWeights: params.regions.map((r) => REGION_INFO[r].weight),
      repsByRegion: staff.repsByRegion,
      usedDomains: new Set(),
    };
    let counter = 0;
    for (let index = 0; index < params.accounts; index++) {
      const { drafts, stats } = simulateAccount(world, index);
      summary.accounts++;
      summary.contacts += stats.contacts;
      summary.freeMailContacts += stats.freeMailContacts;
      summary.leadsLabelled += stats.leadsLabelled;
      summary.sqlWithin30Days += stats.sqlWithin30Days;
      summary.opportunities += stats.opportunities;
      summary.won += stats.won;
      summary.lost += stats.lost;
      summary.wonAmount += stats.wonAmount;
      if (stats.customer) summary.customers++;
      summary.open = summary.opportunities - summary.won - summary.lost;
      summary.observedSqlRate = summary.leadsLabelled
        ? round(summary.sqlWithin30Days / summary.leadsLabelled, 4)
        : 0;
      // Stable sort: at equal times, entity events (built first) stay ahead of the activity about them.
      drafts.sort((a, b) => a.at - b.at);
      for (const draft of drafts) {
        counter++;
        summary.events++;
        summary.eventsByType[draft.type] = (summary.eventsByType[draft.type] ?? 0) + 1;
        yield toCloudEvent(draft, `sim-${params.seed}-${counter}`, params.source);
      }
    }
    summary.complete = true;
  }

  return { params, setup: staff.setup, groundTruth, events };
}

function toCloudEvent(draft: DraftEvent, id: string, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source,
    type: draft.type,
    time: new Date(draft.at).toISOString(),
    ...(draft.subject ? { subject: draft.subject } : {}),
    datacontenttype: 'application/json',
    data: draft.data,
  };
}

function describeTruth(params: ResolvedParams, reps: RepTruth[], leadModel: LeadModelTruth): GroundTruth {
  const stages = Object.keys(STAGE_MEDIAN_DAYS);
  const baseWinRate = Object.values(STAGE_PASS_RATE).reduce((product, p) => product * p, 1);
  const bottleneck = params.bottleneck;
  return {
    seed: params.seed,
    params: {
      ...params,
      now: params.now.toISOString(),
      startDate: params.startDate.toISOString(),
      bottleneck: bottleneck ? { ...bottleneck, startDate: bottleneck.startDate.toISOString() } : null,
    },
    leadModel,
    opportunities: {
      stages: [...stages, 'closed_won', 'closed_lost'],
      stageMedianDays: { ...STAGE_MEDIAN_DAYS },
      stageDurationSigma: STAGE_DURATION_SIGMA,
      sizeDurationMultiplier: { ...SIZE_DURATION_MULTIPLIER },
      stagePassRate: { ...STAGE_PASS_RATE },
      baseWinRate: round(baseWinRate, 4),
    },
    reps,
    bottleneck: bottleneck
      ? {
          stage: bottleneck.stage,
          region: bottleneck.region,
          startDate: bottleneck.startDate.toISOString(),
          slowdownFactor: bottleneck.slowdownFactor,
          conversionFactor: bottleneck.conversionFactor,
          description:
            `Opportunities entering "${bottleneck.stage}" in ${bottleneck.region} on or after ` +
            `${bottleneck.startDate.toISOString()} stay ${bottleneck.slowdownFactor}x as long in it, and pass it ` +
            `${bottleneck.conversionFactor}x as often.`,
        }
      : null,
    seasonality: {
      enabled: params.seasonality,
      monthlyArrivalWeights: params.seasonality
        ? [...MONTHLY_ARRIVAL_WEIGHTS]
        : MONTHLY_ARRIVAL_WEIGHTS.map(() => 1),
      quarterEndPullIn: params.seasonality ? { ...QUARTER_END_PULL_IN } : null,
    },
    summary: emptySummary(),
  };
}

function emptySummary(): SimulationSummary {
  return {
    complete: false,
    accounts: 0,
    contacts: 0,
    freeMailContacts: 0,
    leadsLabelled: 0,
    sqlWithin30Days: 0,
    observedSqlRate: 0,
    opportunities: 0,
    won: 0,
    lost: 0,
    open: 0,
    wonAmount: 0,
    customers: 0,
    events: 0,
    eventsByType: {},
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
