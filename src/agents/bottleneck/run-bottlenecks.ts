// The bottleneck detection agent: detect on the stage histories, store each finding (the same finding seen
// again updates its row; an open finding not seen any more is resolved), and propose one remediation per open
// finding through the gate (subject: the finding). Remedies: a slow owner -> rebalance that owner's open items;
// a conversion drop -> escalate to the managers; another slowdown -> add a follow-up step to the stage.
import type { Db } from '../../db/database.ts';
import type { FunnelObject } from '../../feedback/funnel-stages.ts';
import { submitProposal, type Proposal } from '../submit-proposal.ts';
import {
  DEFAULT_DETECT_OPTIONS,
  detectBottlenecks,
  type DetectOptions,
  type DetectionReport,
  type Finding,
} from './detect.ts';
import { loadStageEntries } from './stage-entries.ts';

export const BOTTLENECK_AGENT = { name: 'bottleneck-detection', version: '1.0.0' } as const;

export interface BottleneckRunOptions {
  now?: Date;
  object?: FunnelObject;
  detect?: Partial<Omit<DetectOptions, 'now'>>;
  connector: string;
  /** Off: store findings without proposing (a dry look). */
  propose?: boolean;
}

export interface BottleneckRunResult {
  report: Omit<DetectionReport, 'findings'>;
  findings: (Finding & { id: string; decision: { id: string; status: string; outcome: string } | null })[];
  resolved: number;
}

const DAY = 86_400_000;

export async function runBottleneckDetection(
  db: Db,
  options: BottleneckRunOptions,
): Promise<BottleneckRunResult> {
  const now = options.now ?? new Date();
  const object = options.object ?? 'opportunity';
  const detectOptions = { ...DEFAULT_DETECT_OPTIONS, ...options.detect, now };
  const since = new Date(now.getTime() - (detectOptions.recentDays + detectOptions.baselineDays) * DAY);
  const entries = await loadStageEntries(db, object, since);
  const { findings, ...report } = detectBottlenecks(entries, detectOptions);

  const stored: BottleneckRunResult['findings'] = [];
  for (const finding of findings) {
    const key = `${object}|${finding.key}`;
    const details = JSON.stringify({
      recent: finding.recent,
      baseline: finding.baseline,
      rest: finding.rest,
      explains: finding.explains,
      z: finding.z,
      windows: report.windows,
      open_items: finding.open.length,
    });
    const values = {
      start_date: finding.startDate,
      effect: finding.effect,
      p_value: finding.pValue,
      q_value: finding.qValue,
      summary: finding.summary,
      details,
      last_detected_at: now,
    };
    const existing = await db
      .selectFrom('bottleneck_findings')
      .select('id')
      .where('key', '=', key)
      .where('status', '=', 'open')
      .executeTakeFirst();
    const id = existing
      ? (
          await db
            .updateTable('bottleneck_findings')
            .set(values)
            .where('id', '=', existing.id)
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id
      : (
          await db
            .insertInto('bottleneck_findings')
            .values({
              key,
              object,
              stage: finding.stage,
              dimension: finding.dimension,
              segment_value: finding.value,
              kind: finding.kind,
              first_detected_at: now,
              ...values,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
    let decision: BottleneckRunResult['findings'][number]['decision'] = null;
    if (options.propose !== false) {
      const result = await submitProposal(db, remediation(id, finding), {
        connector: options.connector,
        now,
      });
      decision = { id: result.decision_id, status: result.status, outcome: result.outcome };
      await db
        .updateTable('bottleneck_findings')
        .set({ decision_id: result.decision_id })
        .where('id', '=', id)
        .execute();
    }
    stored.push({ ...finding, id, decision });
  }
  const seen = stored.map((f) => f.id);
  const resolved = await db
    .updateTable('bottleneck_findings')
    .set({ status: 'resolved', resolved_at: now })
    .where('status', '=', 'open')
    .where('object', '=', object)
    .$if(seen.length > 0, (q) => q.where('id', 'not in', seen))
    .executeTakeFirst();
  return { report, findings: stored, resolved: Number(resolved.numUpdatedRows) };
}

/** The remediation proposal for a finding. Pure. */
export function remediation(findingId: string, f: Finding): Proposal {
  const remedy =
    f.kind === 'conversion_drop'
      ? 'escalate'
      : f.dimension === 'owner'
        ? 'rebalance_owners'
        : 'add_follow_up_step';
  const openValue = f.open.reduce((sum, o) => sum + (o.amount ?? 0), 0);
  const stuck = f.open.filter((o) => f.baseline.median_days !== null && o.days > f.baseline.median_days);
  const note = {
    rebalance_owners: `Move part of ${f.value}'s ${f.open.length} open item(s) in "${f.stage}" to owners with room, and review the stage with them.`,
    add_follow_up_step: `Add a follow-up step to "${f.stage}" for ${f.dimension === 'all' ? 'every segment' : `${f.dimension} ${f.value}`}: a check-in when an item has been in the stage longer than the usual ${f.baseline.median_days ?? '?'} days (${stuck.length} item(s) are now).`,
    escalate: `Escalate the conversion drop in "${f.stage}" (${f.dimension === 'all' ? 'whole stage' : `${f.dimension} ${f.value}`}) to the managers, with the lost items of the recent window for a loss review.`,
  }[remedy];
  const confidence = Math.min(0.99, Math.max(0.5, 1 - f.qValue));
  return {
    agent: BOTTLENECK_AGENT.name,
    agent_version: BOTTLENECK_AGENT.version,
    subject_type: 'bottleneck',
    subject_id: findingId,
    action: {
      type: 'funnel.remediate',
      params: { stage: f.stage, segment: { [f.dimension]: f.value }, remedy, note },
    },
    confidence,
    // Worth acting on: the value waiting in the slowed or leaking slice, scaled by how much the change costs.
    expected_value: Math.round(
      openValue *
        (f.kind === 'slowdown' ? Math.min(0.5, 1 - 1 / Math.max(1, f.effect)) * 0.2 : Math.abs(f.effect)),
    ),
    risk: null,
    explanation: {
      summary: f.summary,
      for: [
        {
          feature: 'q_value',
          phrase: `significant after controlling the false discovery rate (q = ${f.qValue.toExponential(1)})`,
          contribution: 1,
        },
        ...(f.rest
          ? [
              {
                feature: 'rest_of_stage',
                phrase: `the rest of the stage changed ${f.kind === 'slowdown' ? `${f.rest.effect.toFixed(2)}x` : `${Math.round(f.rest.effect * 100)} points`} over the same windows`,
                contribution: 0.5,
              },
            ]
          : []),
        ...(f.explains.length
          ? [
              {
                feature: 'explains',
                phrase: `also explains: ${f.explains.map((e) => `${e.dimension} ${e.value}`).join(', ')}`,
                contribution: 0.3,
              },
            ]
          : []),
      ],
      against: [
        {
          feature: 'recent_entries',
          phrase: `${f.recent.entries} recent entries, ${f.recent.still_open} still in the stage (censored)`,
          contribution: -0.3,
        },
      ],
    },
    dissent:
      "Stage histories record today's owner and segment, not those at the time, and a change of mix (bigger deals, a new product) can look like a slowdown; a few large deals can dominate a small slice.",
    mitigations: [
      'A process change, not a record write: it can be stopped at the next review if the stage recovers.',
      'The finding is re-tested on every run and resolved automatically when the change is no longer significant.',
    ],
    alternatives: [
      {
        action: 'wait one more window',
        expected_value: 0,
        why_not: 'items keep ageing in the stage meanwhile',
      },
    ],
    inputs: {
      agent: { name: BOTTLENECK_AGENT.name, version: BOTTLENECK_AGENT.version },
      finding_id: findingId,
      stage: f.stage,
      slice: { dimension: f.dimension, value: f.value },
      kind: f.kind,
      p_value: f.pValue,
      q_value: f.qValue,
      start_date: f.startDate?.toISOString() ?? null,
      recent: f.recent,
      baseline: f.baseline,
      open_items: f.open.slice(0, 100).map((o) => o.subjectId),
      event_ids: [],
    },
    facts: {
      deal_size: null,
      account_tier: null,
      segment: f.dimension === 'segment' ? f.value : null,
      model_age_days: null,
      skills: ['funnel.remediate'],
    },
  };
}

export async function listBottleneckFindings(
  db: Db,
  options: { status?: 'open' | 'resolved'; limit: number },
) {
  return db
    .selectFrom('bottleneck_findings')
    .selectAll()
    .$if(options.status !== undefined, (q) => q.where('status', '=', options.status!))
    .orderBy('last_detected_at', 'desc')
    .orderBy('q_value')
    .limit(options.limit)
    .execute();
}
