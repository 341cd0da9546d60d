// An optional planted treatment effect, for holdout experiments with a known answer. The simulated world is
// generated without agents; this step then plays "the agents helped": of the leads in the experiment's
// treatment arm that did not become SQL within 30 days, a share `uplift` (chosen by a seeded hash) does, through
// a crm.contact.stage_changed event sent down the normal ingestion path. Holdout leads are left alone. The
// true lift in conversion to SQL is then uplift x (1 - the treatment arm's own rate before the effect).
//
// The simulated leads are assigned here and the assignment stored (the estimator and the gate use a stored arm
// first), hashing the lead's e-mail address rather than its database id: ids are random per database, the
// addresses follow from the seed, so the same simulation gives the same arms, and a test of the lift estimate
// does not depend on luck. Subjects the simulation did not create are assigned by id as usual.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { assignArm, type Arm } from '../../feedback/assign-arm.ts';
import { getExperiment } from '../../feedback/experiments.ts';
import { ingestCloudEvents } from '../ingest-events.ts';

const DAY = 86_400_000;
const HORIZON_DAYS = 30;

export interface PlantedTreatment {
  experiment: string;
  uplift: number;
  treatment_leads: number;
  treatment_converted_before: number;
  converted_by_treatment: number;
  /** uplift x (1 - base rate): the lift an unbiased estimate should find, in proportion points. */
  expected_lift: number;
  /** What was planted in this sample: converted_by_treatment / treatment_leads. */
  planted_lift: number;
}

export async function plantTreatmentEffect(
  db: Db,
  options: { experiment: string; uplift: number; source: string; now: Date; seed?: number },
): Promise<PlantedTreatment> {
  const experiment = await getExperiment(db, options.experiment);
  const leads = await sql<{ id: string; email: string | null; lead_at: Date; sql_at: Date | null }>`
    with leads as (select contact_id, min(changed_at) as lead_at from contact_stage_history group by contact_id)
    select l.contact_id as id, c.email, l.lead_at,
           (select min(s.changed_at) from contact_stage_history s
            where s.contact_id = l.contact_id and s.to_stage in ('sql', 'opportunity', 'customer')) as sql_at
    from leads l join contacts c on c.id = l.contact_id and c.merged_into_id is null
    where l.lead_at >= ${experiment.started_at}
    order by l.contact_id`.execute(db);
  let treated = 0;
  let convertedBefore = 0;
  const events: unknown[] = [];
  for (const lead of leads.rows) {
    const arm = await storeArm(
      db,
      experiment,
      lead.id,
      assignArm(experiment.salt, lead.email ?? lead.id, experiment.holdout_share),
    );
    const mature = new Date(lead.lead_at).getTime() + HORIZON_DAYS * DAY <= options.now.getTime();
    if (arm !== 'treatment' || !mature) continue;
    treated++;
    const leadAt = new Date(lead.lead_at).getTime();
    if (lead.sql_at && new Date(lead.sql_at).getTime() <= leadAt + HORIZON_DAYS * DAY) {
      convertedBefore++;
      continue;
    }
    const [draw, when] = hashPoints(`${options.seed ?? 1}:${lead.email ?? lead.id}`);
    if (draw >= options.uplift || !lead.email) continue;
    const at = new Date(leadAt + (1 + when * (HORIZON_DAYS - 2)) * DAY);
    events.push({
      specversion: '1.0',
      id: `treatment-${experiment.name}-${lead.id}`,
      source: options.source,
      type: 'crm.contact.stage_changed',
      time: at.toISOString(),
      datacontenttype: 'application/json',
      data: { contact: { email: lead.email }, to_stage: 'sql' },
    });
  }
  for (let i = 0; i < events.length; i += 500)
    await ingestCloudEvents(db, events.slice(i, i + 500), {
      channel: 'simulator',
      description: 'planted treatment effect',
    });
  const base = treated ? convertedBefore / treated : 0;
  return {
    experiment: experiment.name,
    uplift: options.uplift,
    treatment_leads: treated,
    treatment_converted_before: convertedBefore,
    converted_by_treatment: events.length,
    expected_lift: options.uplift * (1 - base),
    planted_lift: treated ? events.length / treated : 0,
  };
}

/** Two independent uniform numbers in [0, 1) from a string. */
function hashPoints(text: string): [number, number] {
  const digest = createHash('sha256').update(text).digest();
  return [digest.readUInt32BE(0) / 4_294_967_296, digest.readUInt32BE(4) / 4_294_967_296];
}

async function storeArm(db: Db, experiment: { id: string }, subjectId: string, arm: Arm): Promise<Arm> {
  await sql`
    insert into experiment_assignments (experiment_id, subject_id, arm) values (${experiment.id}, ${subjectId}, ${arm})
    on conflict (experiment_id, subject_id) do nothing`.execute(db);
  const stored = await db
    .selectFrom('experiment_assignments')
    .select('arm')
    .where('experiment_id', '=', experiment.id)
    .where('subject_id', '=', subjectId)
    .executeTakeFirstOrThrow();
  return stored.arm;
}
