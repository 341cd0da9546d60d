// Agents as jobs: `agents.run` runs the per-contact agents (after rescoring, on the hourly sweep, by hand) and
// `agents.route` solves one routing batch (every five minutes, by hand). Both are idempotent: a rerun finds its
// proposals already open ("unchanged").
import type { CronItem } from 'graphile-worker';
import { z } from 'zod';
import { loadConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { defineJob, type JobContext } from '../jobs/task-list.ts';
import { followupAgent } from './followup-agent.ts';
import { nbaAgent } from './nba-agent.ts';
import { qualificationAgent } from './qualification-agent.ts';
import { AGENT_NAMES, PER_CONTACT_AGENTS } from './registry.ts';
import { routeLeads, runAgents } from './run-agents.ts';

export const AGENTS_RUN_JOB = 'agents.run';
export const AGENTS_ROUTE_JOB = 'agents.route';

/** Contacts per agents.run job; a bigger list is split into several jobs. */
export const MAX_CONTACTS_PER_JOB = 1000;

export const agentsRunPayloadSchema = z.object({
  /** Omitted: the sweep over every open lead. */
  contact_ids: z.array(z.uuid()).max(MAX_CONTACTS_PER_JOB).optional(),
  /** Omitted: the per-contact agents. */
  agents: z.array(z.enum(AGENT_NAMES)).min(1).optional(),
});

export const agentsRoutePayloadSchema = z.object({
  contact_ids: z.array(z.uuid()).max(MAX_CONTACTS_PER_JOB).optional(),
});

let environmentConnector: string | undefined;
/**
 * The execution connector for proposals the gate approves automatically. Jobs receive no config yet
 * (JobContext is { db, logger }); until they do, it is read once from the same settings the worker started with.
 */
function connectorOf(context: JobContext): string {
  const injected = (context as JobContext & { config?: { executionConnector?: string } }).config
    ?.executionConnector;
  if (injected) return injected;
  environmentConnector ??= loadConfig().executionConnector;
  return environmentConnector;
}

export const agentsRunJob = defineJob({
  id: AGENTS_RUN_JOB,
  schema: agentsRunPayloadSchema,
  async handler(payload, context) {
    const result = await runAgents(context.db, {
      contactIds: payload.contact_ids,
      agents: payload.agents ?? PER_CONTACT_AGENTS,
      connector: connectorOf(context),
      logger: context.logger,
    });
    if (result.errors.length > 0) {
      context.logger.error(
        { errors: result.errors.slice(0, 20), count: result.errors.length },
        'agents failed on some contacts',
      );
      // Every contact failing is a systemic fault worth a retry; a few failing are a bug a retry will not fix.
      const attempted = result.agents.reduce((sum, a) => sum + a.contacts, 0);
      if (result.errors.length >= attempted && attempted > 0) {
        throw new AppError(
          'internal',
          `Agents failed on all ${attempted} contact decisions: ${result.errors[0]!.message}`,
        );
      }
    }
  },
});

export const agentsRouteJob = defineJob({
  id: AGENTS_ROUTE_JOB,
  schema: agentsRoutePayloadSchema,
  async handler(payload, context) {
    const { summary, errors } = await routeLeads(context.db, {
      contactIds: payload.contact_ids,
      connector: connectorOf(context),
      logger: context.logger,
    });
    const { decisions: _decisions, ...counts } = summary;
    context.logger.info(counts, 'routing batch solved');
    if (errors.length > 0) context.logger.error({ errors: errors.slice(0, 20) }, 'routing proposals failed');
  },
});

export const agentJobs = [agentsRunJob, agentsRouteJob];

/** After rescoring, in the caller's transaction: the per-contact agents look at these contacts again. */
export async function enqueueAgentRun(db: Db, contactIds: readonly string[]): Promise<void> {
  for (let i = 0; i < contactIds.length; i += MAX_CONTACTS_PER_JOB) {
    await enqueueJob(
      db,
      AGENTS_RUN_JOB,
      { contact_ids: contactIds.slice(i, i + MAX_CONTACTS_PER_JOB) },
      { maxAttempts: 5 },
    );
  }
}

/** Recurring agent runs; one run per slot across all workers, a missed slot is not backfilled. */
export const AGENT_SCHEDULES: CronItem[] = [
  // Speed to lead: new leads without an owner get one within five minutes.
  {
    task: AGENTS_ROUTE_JOB,
    match: '*/5 * * * *',
    identifier: 'agents-route',
    options: { backfillPeriod: 0 },
  },
  // Time moves even without events: follow-up slots pass, cadences free up.
  {
    task: AGENTS_RUN_JOB,
    match: '7 * * * *',
    identifier: 'agents-hourly-sweep',
    options: { backfillPeriod: 0 },
    payload: { agents: [followupAgent.name, nbaAgent.name] },
  },
  // Staleness grows without events (and without rescoring): a daily look for leads gone silent.
  {
    task: AGENTS_RUN_JOB,
    match: '41 4 * * *',
    identifier: 'agents-daily-qualification',
    options: { backfillPeriod: 0 },
    payload: { agents: [qualificationAgent.name] },
  },
];
