// "What if this policy had been in force?": replays recent proposals through a candidate policy and reports
// how many would have executed, gone to review or been blocked, against what actually happened, and the review
// load per reviewer per day (approvals needed, on the reviewer each item was or would be assigned to).
import type { Db } from '../db/database.ts';
import { parsePolicy, evaluateGate, type GateFacts } from './policy.ts';

export type SimulationReport = {
  since: string;
  proposals: number;
  candidate: { auto: number; review: number; block: number };
  actual: Record<string, number>;
  changed: number;
  by_rule: Record<string, number>;
  review_load: { reviewer: string; day: string; approvals_needed: number }[];
  review_load_per_reviewer_per_day: { mean: number; max: number };
};

export async function simulatePolicy(
  db: Db,
  options: { document: string; since: Date; breakerOpen?: boolean },
): Promise<SimulationReport> {
  const policy = parsePolicy(options.document);
  const decisions = await db
    .selectFrom('decisions as d')
    .leftJoin('users as u', 'u.id', 'd.assigned_to')
    .select([
      'd.id',
      'd.action',
      'd.confidence',
      'd.expected_value',
      'd.risk',
      'd.facts',
      'd.gate',
      'd.status',
      'd.created_at',
      'u.email as assignee',
    ])
    .where('d.created_at', '>=', options.since)
    .orderBy('d.created_at')
    .execute();
  const candidate = { auto: 0, review: 0, block: 0 };
  const actual: Record<string, number> = {};
  const byRule: Record<string, number> = {};
  const load = new Map<string, number>();
  let changed = 0;
  for (const d of decisions) {
    const action = d.action as { type: string; params: Record<string, unknown> };
    const facts = (d.facts ?? {}) as {
      deal_size?: number | null;
      account_tier?: string | null;
      segment?: string | null;
      model_age_days?: number | null;
    };
    const gateFacts: GateFacts = {
      action_type: action.type,
      params: action.params,
      confidence: d.confidence,
      expected_value: d.expected_value,
      deal_size: facts.deal_size ?? null,
      risk: d.risk,
      account_tier: facts.account_tier ?? null,
      segment: facts.segment ?? null,
      model_age_days: facts.model_age_days ?? null,
      monitoring: options.breakerOpen ? 'alarm' : 'ok',
    };
    const outcome = evaluateGate(policy, gateFacts, options.breakerOpen ?? false);
    candidate[outcome.outcome]++;
    byRule[outcome.rule ?? '(default)'] = (byRule[outcome.rule ?? '(default)'] ?? 0) + 1;
    const was = (d.gate as { outcome?: string } | null)?.outcome ?? 'none';
    actual[was] = (actual[was] ?? 0) + 1;
    if (was !== outcome.outcome) changed++;
    if (outcome.outcome === 'review') {
      const key = `${d.assignee ?? '(unassigned)'}|${d.created_at.toISOString().slice(0, 10)}`;
      load.set(key, (load.get(key) ?? 0) + outcome.review.approvals);
    }
  }
  const reviewLoad = [...load].map(([key, approvals]) => {
    const [reviewer, day] = key.split('|') as [string, string];
    return { reviewer, day, approvals_needed: approvals };
  });
  const values = reviewLoad.map((r) => r.approvals_needed);
  return {
    since: options.since.toISOString(),
    proposals: decisions.length,
    candidate,
    actual,
    changed,
    by_rule: byRule,
    review_load: reviewLoad.sort((a, b) =>
      a.day === b.day ? a.reviewer.localeCompare(b.reviewer) : a.day.localeCompare(b.day),
    ),
    review_load_per_reviewer_per_day: {
      mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0,
      max: values.length ? Math.max(...values) : 0,
    },
  };
}
