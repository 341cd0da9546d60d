// One monitoring run: drift per feature and for the score, calibration on labelled outcomes, model age,
// feature freshness, connector and job error rates. Each becomes a check against its thresholds; alarms are
// opened, updated or resolved, the breaker tripped when one reaches its alarm threshold, the report stored, and
// the gauges /metrics shows written.
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { activePolicy } from '../gates/active-policy.ts';
import { expectedCalibrationError } from '../models/ml/metrics.ts';
import { applyChecks, type AlarmChanges, type CheckResult } from './alarms.ts';
import { championModel, measureDrift, type DriftReport } from './drift.ts';
import { writeSnapshots, type Snapshot } from './metric-snapshots.ts';

export type MonitoringSettings = Pick<
  Config,
  | 'driftPsiWarn'
  | 'driftPsiAlarm'
  | 'driftPValue'
  | 'driftWindowDays'
  | 'driftMinSamples'
  | 'calibrationEceWarn'
  | 'calibrationEceAlarm'
  | 'freshnessWarnSeconds'
  | 'freshnessAlarmSeconds'
  | 'connectorErrorRateWarn'
  | 'connectorErrorRateAlarm'
  | 'jobFailuresWarn'
  | 'jobFailuresAlarm'
  | 'alarmsTripBreaker'
>;

export const ALARM_KINDS = [
  'feature_drift',
  'score_drift',
  'calibration',
  'model_staleness',
  'feature_freshness',
  'connector_errors',
  'job_failures',
] as const;

const LABEL_HORIZON_DAYS = 30;
const CALIBRATION_LOOKBACK_DAYS = 90;

export interface CalibrationReport {
  model: { id: string; version: number } | null;
  labelled: number;
  ece: number | null;
  mean_predicted: number | null;
  observed_rate: number | null;
  holdout_ece: number | null;
}

export interface MonitoringReport {
  at: string;
  drift: DriftReport;
  calibration: CalibrationReport;
  freshness: { backlog: number; oldest_waiting_seconds: number };
  model_age_days: number | null;
  connectors: { connector: string; delivered: number; dead: number; error_rate: number }[];
  jobs: { task: string; failed: number }[];
  alarms: AlarmChanges;
}

export async function runMonitoring(
  db: Db,
  settings: MonitoringSettings,
  now = new Date(),
): Promise<MonitoringReport> {
  const checks: CheckResult[] = [];
  const drift = await measureDrift(db, {
    windowDays: settings.driftWindowDays,
    minSamples: settings.driftMinSamples,
    now,
  });
  for (const f of drift.features) {
    checks.push({
      kind: f.type === 'score' ? 'score_drift' : 'feature_drift',
      key: f.feature,
      modelId: drift.model?.id ?? null,
      value: f.psi,
      warn: settings.driftPsiWarn,
      alarm: settings.driftPsiAlarm,
      message: `${f.type === 'score' ? 'score' : `feature ${f.feature}`} drifted: PSI ${f.psi.toFixed(3)} (${f.test} p = ${f.p_value.toPrecision(2)}) over the last ${settings.driftWindowDays} days against model version ${drift.model?.version}'s training window`,
      details: { ...f, significant: f.p_value < settings.driftPValue },
      // PSI says how much; the test says whether it is more than sampling noise. Noise never trips the breaker.
      ...(f.p_value < settings.driftPValue ? {} : { maxSeverity: 'warn' as const }),
    });
  }

  const calibration = await measureCalibration(db, now, settings.driftMinSamples);
  if (calibration.ece !== null)
    checks.push({
      kind: 'calibration',
      key: 'lead_score',
      modelId: calibration.model?.id ?? null,
      value: calibration.ece,
      warn: settings.calibrationEceWarn,
      alarm: settings.calibrationEceAlarm,
      message: `scores are miscalibrated: ECE ${calibration.ece.toFixed(3)} on ${calibration.labelled} labelled leads (predicted ${pct(calibration.mean_predicted)}, observed ${pct(calibration.observed_rate)})`,
      details: { ...calibration },
    });

  const modelAge = await modelAgeDays(db, now);
  if (modelAge)
    checks.push({
      kind: 'model_staleness',
      key: 'lead_score',
      modelId: modelAge.modelId,
      value: modelAge.days,
      warn: modelAge.maxDays * 0.8,
      alarm: modelAge.maxDays,
      message: `the champion model is ${Math.round(modelAge.days)} days old (stale after ${modelAge.maxDays}, the active policy's max_model_age_days)`,
    });

  const freshness = await featureFreshness(db);
  checks.push({
    kind: 'feature_freshness',
    key: 'lead_scoring',
    value: freshness.oldest_waiting_seconds,
    warn: settings.freshnessWarnSeconds,
    alarm: settings.freshnessAlarmSeconds,
    message: `features are stale: ${freshness.backlog} contacts wait for a refresh, the oldest for ${Math.round(freshness.oldest_waiting_seconds / 60)} min`,
    details: freshness,
  });

  const connectors = await connectorErrors(db);
  for (const c of connectors)
    checks.push({
      kind: 'connector_errors',
      key: c.connector,
      value: c.error_rate,
      warn: settings.connectorErrorRateWarn,
      alarm: settings.connectorErrorRateAlarm,
      message: `connector ${c.connector}: ${c.dead} of ${c.dead + c.delivered} deliveries dead-lettered in the last 24 h`,
      details: c,
    });

  const jobs = await jobFailures(db);
  for (const j of jobs)
    checks.push({
      kind: 'job_failures',
      key: j.task,
      value: j.failed,
      warn: settings.jobFailuresWarn,
      alarm: settings.jobFailuresAlarm,
      message: `job ${j.task}: ${j.failed} run(s) failed for good in the last 24 h`,
      details: j,
    });

  // Kinds that could not be measured this run (e.g. no model yet) keep their alarms as they are.
  const measured = new Set<string>(['feature_freshness', 'connector_errors', 'job_failures']);
  if (!drift.skipped) measured.add('feature_drift').add('score_drift');
  if (calibration.ece !== null) measured.add('calibration');
  if (modelAge) measured.add('model_staleness');
  const alarms = await applyChecks(db, checks, [...measured], { tripBreaker: settings.alarmsTripBreaker });

  const report: MonitoringReport = {
    at: now.toISOString(),
    drift,
    calibration,
    freshness,
    model_age_days: modelAge?.days ?? null,
    connectors,
    jobs,
    alarms,
  };
  await db
    .insertInto('monitoring_reports')
    .values({ report: JSON.stringify(report) })
    .execute();
  await sql`delete from monitoring_reports where at < now() - interval '30 days'`.execute(db);
  await writeSnapshots(db, 'monitoring', await monitoringSnapshots(db, report));
  return report;
}

const pct = (v: number | null) => (v === null ? '?' : `${(v * 100).toFixed(1)} %`);

/**
 * Scores as they were when decisions were made (decisions keep the model's probability), against whether the
 * lead became SQL within 30 days: only leads whose 30 days are over, one (the first) decision per lead.
 */
export async function measureCalibration(db: Db, now: Date, minSamples: number): Promise<CalibrationReport> {
  const model = await championModel(db);
  const none = {
    model: null,
    labelled: 0,
    ece: null,
    mean_predicted: null,
    observed_rate: null,
    holdout_ece: null,
  };
  if (!model) return none;
  const until = new Date(now.getTime() - LABEL_HORIZON_DAYS * 86_400_000);
  const since = new Date(until.getTime() - CALIBRATION_LOOKBACK_DAYS * 86_400_000);
  const rows = await sql<{ p: number; y: boolean }>`
    select distinct on (d.subject_id) (d.inputs -> 'model' ->> 'probability')::double precision as p,
           exists (select 1 from contact_stage_history h
                   where h.contact_id = d.subject_id and h.to_stage in ('sql', 'opportunity', 'customer')
                     and h.changed_at > d.created_at
                     and h.changed_at <= d.created_at + make_interval(days => ${LABEL_HORIZON_DAYS})) as y
    from decisions d
    where d.subject_type = 'contact'
      and d.inputs -> 'model' ->> 'id' = ${model.id}
      and d.created_at >= ${since} and d.created_at < ${until}
      and not exists (select 1 from contact_stage_history h
                      where h.contact_id = d.subject_id and h.to_stage in ('sql', 'opportunity', 'customer')
                        and h.changed_at <= d.created_at)
    order by d.subject_id, d.created_at`.execute(db);
  const holdout = (model.metrics as { holdout?: { ece?: number } }).holdout?.ece ?? null;
  const info = { id: model.id, version: model.version };
  if (rows.rows.length < minSamples)
    return { ...none, model: info, labelled: rows.rows.length, holdout_ece: holdout };
  const labels = rows.rows.map((r) => (r.y ? 1 : 0));
  const probabilities = rows.rows.map((r) => Number(r.p));
  return {
    model: info,
    labelled: labels.length,
    ece: expectedCalibrationError(labels, probabilities),
    mean_predicted: probabilities.reduce((a, b) => a + b, 0) / probabilities.length,
    observed_rate: labels.reduce((a: number, b) => a + b, 0) / labels.length,
    holdout_ece: holdout,
  };
}

async function modelAgeDays(db: Db, now: Date) {
  const model = await championModel(db);
  if (!model) return null;
  const policy = await activePolicy(db);
  return {
    modelId: model.id,
    days: (now.getTime() - new Date(model.trained_at).getTime()) / 86_400_000,
    maxDays: policy?.document.max_model_age_days ?? 30,
  };
}

async function featureFreshness(db: Db) {
  const row = await sql<{ backlog: string; waiting: number | null }>`
    select count(*) as backlog, extract(epoch from now() - min(marked_at)) as waiting from dirty_contacts`.execute(
    db,
  );
  return {
    backlog: Number(row.rows[0]?.backlog ?? 0),
    oldest_waiting_seconds: Number(row.rows[0]?.waiting ?? 0),
  };
}

/** Connectors with at least 10 finished deliveries in the last day; the share that ended dead. */
async function connectorErrors(db: Db) {
  const rows = await sql<{ connector: string; delivered: string; dead: string }>`
    select connector, count(*) filter (where status = 'delivered') as delivered, count(*) filter (where status = 'dead') as dead
    from outbox where updated_at > now() - interval '1 day' and status in ('delivered', 'dead')
    group by connector having count(*) >= 10`.execute(db);
  return rows.rows.map((r) => {
    const delivered = Number(r.delivered);
    const dead = Number(r.dead);
    return { connector: r.connector, delivered, dead, error_rate: dead / (delivered + dead) };
  });
}

/** graphile-worker keeps a job that used all its attempts, with its last error: those are the failures. */
async function jobFailures(db: Db) {
  const installed = await sql<{
    found: string | null;
  }>`select to_regclass('graphile_worker.jobs')::text as found`.execute(db);
  if (!installed.rows[0]?.found) return [];
  const rows = await sql<{ task: string; failed: string }>`
    select task_identifier as task, count(*) as failed from graphile_worker.jobs
    where attempts >= max_attempts and last_error is not null and updated_at > now() - interval '1 day'
    group by task_identifier`.execute(db);
  return rows.rows.map((r) => ({ task: r.task, failed: Number(r.failed) }));
}

async function monitoringSnapshots(db: Db, report: MonitoringReport): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  for (const f of report.drift.features)
    out.push({ name: 'funnelgate_drift_psi', labels: { feature: f.feature }, value: f.psi });
  if (report.calibration.ece !== null)
    out.push({
      name: 'funnelgate_calibration_ece',
      labels: { model: 'lead_score' },
      value: report.calibration.ece,
    });
  const open = await sql<{ kind: string; severity: string; n: string }>`
    select kind, severity, count(*) as n from alarms where status = 'open' group by kind, severity`.execute(
    db,
  );
  for (const kind of ALARM_KINDS)
    for (const severity of ['warn', 'alarm'])
      out.push({
        name: 'funnelgate_alarms_open',
        labels: { kind, severity },
        value: Number(open.rows.find((r) => r.kind === kind && r.severity === severity)?.n ?? 0),
      });
  for (const c of report.connectors)
    out.push({
      name: 'funnelgate_connector_error_rate',
      labels: { connector: c.connector },
      value: c.error_rate,
    });
  return out;
}
