// Runs a simulation end to end: writes the simulated company (setup), registers the source, streams the events
// through a sink in batches, and records the run with its ground truth in simulation_runs.
import type { Db } from '../../db/database.ts';
import type { CloudEvent } from '../catalogue.ts';
import { ensureSource } from '../sources.ts';
import { simulateFunnel, type GroundTruth } from './generate.ts';
import type { ResolvedParams, SimulationParamsInput } from './params.ts';
import { applySimulationSetup, type AppliedSetup } from './setup.ts';
import type { EventSink, SinkReport } from './sinks.ts';

export { httpSink, inProcessSink, natsSink, type EventSink, type SinkReport } from './sinks.ts';

export const DEFAULT_SIMULATION_BATCH_SIZE = 500;

export interface SimulationProgress {
  /** Accounts generated so far (their events are sent or in flight). */
  accounts: number;
  totalAccounts: number;
  sent: number;
  accepted: number;
  duplicate: number;
  quarantined: number;
  elapsedMs: number;
}

export interface RunSimulationOptions {
  db: Db;
  params: SimulationParamsInput;
  sink: EventSink;
  batchSize?: number;
  onProgress?: (progress: SimulationProgress) => void;
}

export interface SimulationRunResult {
  runId: string;
  params: ResolvedParams;
  groundTruth: GroundTruth;
  setup: AppliedSetup;
  sent: number;
  /** False when the sink only confirms delivery (NATS): accepted/duplicate/quarantined are then unknown (0). */
  reported: boolean;
  accepted: number;
  duplicate: number;
  quarantined: number;
  /** Reasons of the first quarantined events, if any. */
  problems: string[];
  durationMs: number;
}

export async function runSimulation(options: RunSimulationOptions): Promise<SimulationRunResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_SIMULATION_BATCH_SIZE;
  const simulation = simulateFunnel(options.params);
  const { params, groundTruth } = simulation;
  const setup = await applySimulationSetup(options.db, simulation.setup);
  await ensureSource(options.db, {
    name: params.source,
    description: 'Funnel simulator (funnelgate simulate)',
  });

  const totals = {
    sent: 0,
    accepted: 0,
    duplicate: 0,
    quarantined: 0,
    reported: false,
    problems: [] as string[],
  };
  const report = () =>
    options.onProgress?.({
      accounts: groundTruth.summary.accounts,
      totalAccounts: params.accounts,
      sent: totals.sent,
      accepted: totals.accepted,
      duplicate: totals.duplicate,
      quarantined: totals.quarantined,
      elapsedMs: performance.now() - started,
    });
  const send = async (batch: CloudEvent[]) => {
    const result: SinkReport | void = await options.sink(batch);
    totals.sent += batch.length;
    if (result) {
      totals.reported = true;
      totals.accepted += result.accepted;
      totals.duplicate += result.duplicate;
      totals.quarantined += result.quarantined;
      if (result.problems && totals.problems.length < 5) totals.problems.push(...result.problems);
    }
    report();
  };

  // One batch in flight while the next is generated: generation is CPU, sending is I/O.
  let inFlight: Promise<void> | undefined;
  let batch: CloudEvent[] = [];
  for (const event of simulation.events()) {
    batch.push(event);
    if (batch.length >= batchSize) {
      await inFlight;
      inFlight = send(batch);
      batch = [];
    }
  }
  await inFlight;
  if (batch.length > 0) await send(batch);

  const row = await options.db
    .insertInto('simulation_runs')
    .values({
      seed: params.seed,
      params: JSON.stringify(groundTruth.params),
      ground_truth: JSON.stringify(groundTruth),
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  return {
    runId: row.id,
    params,
    groundTruth,
    setup,
    sent: totals.sent,
    reported: totals.reported,
    accepted: totals.accepted,
    duplicate: totals.duplicate,
    quarantined: totals.quarantined,
    problems: totals.problems.slice(0, 5),
    durationMs: Math.round(performance.now() - started),
  };
}
