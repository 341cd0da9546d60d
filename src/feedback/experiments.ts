// Holdout experiments: create, list, stop, and the arm of a subject. While an experiment is active, the
// proposals for its holdout subjects are recorded and blocked (never executed): business as usual for them.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../agents/decision-store.ts';
import { assignArm, type Arm } from './assign-arm.ts';

export interface ExperimentInput {
  name: string;
  description?: string | null;
  holdoutShare: number;
  subjectType?: 'contact' | 'account' | 'opportunity';
  /** Default: random. Give one to reproduce an assignment (the simulator's planted effect uses it). */
  salt?: string;
  startedAt?: Date;
}

export async function createExperiment(db: Db, input: ExperimentInput, by: Actor) {
  if (!(input.holdoutShare > 0 && input.holdoutShare < 1))
    throw new AppError('validation_failed', 'holdout share must be between 0 and 1 (e.g. 0.1 for 10 %)');
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('experiments')
      .select('id')
      .where('name', '=', input.name)
      .executeTakeFirst();
    if (existing)
      throw new AppError('conflict', `An experiment named ${input.name} exists; choose another name`);
    const row = await trx
      .insertInto('experiments')
      .values({
        name: input.name,
        description: input.description ?? null,
        holdout_share: input.holdoutShare,
        subject_type: input.subjectType ?? 'contact',
        salt: input.salt ?? randomBytes(12).toString('hex'),
        started_at: input.startedAt ?? new Date(),
        created_by: by.name,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: by.name,
      actorId: by.id ?? null,
      action: 'experiment.start',
      subjectType: 'experiment',
      subjectId: row.id,
      reason: input.description ?? `holdout experiment ${row.name}`,
      before: null,
      after: { name: row.name, holdout_share: row.holdout_share, subject_type: row.subject_type },
    });
    return row;
  });
}

export async function stopExperiment(db: Db, name: string, reason: string, by: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('experiments')
      .set({ status: 'stopped', stopped_at: new Date() })
      .where('name', '=', name)
      .where('status', '=', 'active')
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `No active experiment named ${name}`);
    await appendAudit(trx, {
      actor: by.name,
      actorId: by.id ?? null,
      action: 'experiment.stop',
      subjectType: 'experiment',
      subjectId: row.id,
      reason,
      before: { status: 'active' },
      after: { status: 'stopped' },
    });
    return row;
  });
}

export async function listExperiments(db: Db) {
  return db.selectFrom('experiments').selectAll().orderBy('created_at', 'desc').execute();
}

export async function getExperiment(db: Db, name: string) {
  const row = await db.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw new AppError('not_found', `No experiment named ${name}; see GET /v1/experiments`);
  return row;
}

export interface HoldoutMembership {
  experimentId: string;
  experiment: string;
  arm: Arm;
}

/**
 * The subject's arm in the active experiment for its type (the stored one, else assigned now and stored).
 * Null when no experiment covers the subject. Called inside the proposal's transaction.
 */
export async function experimentArm(
  trx: Db,
  subjectType: string,
  subjectId: string,
): Promise<HoldoutMembership | null> {
  const experiment = await trx
    .selectFrom('experiments')
    .select(['id', 'name', 'salt', 'holdout_share'])
    .where('status', '=', 'active')
    .where('subject_type', '=', subjectType as 'contact')
    .orderBy('started_at')
    .executeTakeFirst();
  if (!experiment) return null;
  const arm = assignArm(experiment.salt, subjectId, experiment.holdout_share);
  await sql`
    insert into experiment_assignments (experiment_id, subject_id, arm)
    values (${experiment.id}, ${subjectId}, ${arm})
    on conflict (experiment_id, subject_id) do nothing`.execute(trx);
  const stored = await trx
    .selectFrom('experiment_assignments')
    .select('arm')
    .where('experiment_id', '=', experiment.id)
    .where('subject_id', '=', subjectId)
    .executeTakeFirstOrThrow();
  return { experimentId: experiment.id, experiment: experiment.name, arm: stored.arm };
}
