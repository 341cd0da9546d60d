// A person running agents by hand (API or CLI) is recorded in the audit trail; a queued run is enqueued in the
// same transaction as its audit entry.
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { AGENTS_ROUTE_JOB, AGENTS_RUN_JOB } from './agents.jobs.ts';
import { PER_CONTACT_AGENTS } from './registry.ts';
import { ROUTING_AGENT } from './routing-agent.ts';

export interface ManualRunActor {
  name: string;
  id?: string | null;
}

export async function recordManualRun(
  db: Db,
  actor: ManualRunActor,
  run: { agents: readonly string[]; contacts: number | null },
): Promise<void> {
  await db.transaction().execute((trx) =>
    appendAudit(trx, {
      actor: actor.name,
      actorId: actor.id ?? null,
      action: 'agents.run',
      subjectType: 'agent',
      subjectId: null,
      reason: 'run by hand',
      after: { agents: [...run.agents], contacts: run.contacts ?? 'all open leads' },
    }),
  );
}

/** Queues the agents over every open lead: routing as one batch, the others as the sweep. */
export async function enqueueManualRun(
  db: Db,
  actor: ManualRunActor,
  agents: readonly string[],
): Promise<{ job: string; payload: Record<string, unknown> }[]> {
  const jobs: { job: string; payload: Record<string, unknown> }[] = [];
  if (agents.includes(ROUTING_AGENT)) jobs.push({ job: AGENTS_ROUTE_JOB, payload: {} });
  const perContact = agents.filter((a) => PER_CONTACT_AGENTS.includes(a));
  if (perContact.length > 0) jobs.push({ job: AGENTS_RUN_JOB, payload: { agents: perContact } });
  await db.transaction().execute(async (trx) => {
    await appendAudit(trx, {
      actor: actor.name,
      actorId: actor.id ?? null,
      action: 'agents.run',
      subjectType: 'agent',
      subjectId: null,
      reason: 'queued by hand',
      after: { agents: [...agents], contacts: 'all open leads', jobs: jobs.map((j) => j.job) },
    });
    for (const job of jobs) await enqueueJob(trx, job.job, job.payload, { maxAttempts: 3 });
  });
  return jobs;
}
