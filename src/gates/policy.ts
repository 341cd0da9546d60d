// Policy-as-code: a YAML document, validated by zod, evaluated per proposal. Pure (no I/O).
//
// The first rule whose `when` matches decides: execute automatically ("auto"), send to review (how many
// distinct approvers, which role, by when, what happens at the deadline, the escalation chain), or block.
// Fail closed everywhere: no rule matches -> the default (review unless the document says otherwise, and
// never auto); a fact a condition needs is missing -> that condition does not match; the circuit breaker is
// open, or the model is stale -> anything "auto" goes to review instead.
import YAML from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { ACTION_TYPES } from '../agents/actions.ts';

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?\s*[mhdw]$/, 'must look like 30m, 8h, 2d or 1w')
  .transform((text) => {
    const value = Number.parseFloat(text);
    const unit = text.trim().slice(-1);
    return value * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit as 'm' | 'h' | 'd' | 'w'];
  });

const escalationStep = z.object({
  after: duration.describe('time since the proposal went to review'),
  action: z.enum(['remind', 'reassign', 'escalate_to_manager']),
});

const reviewSpec = z
  .object({
    approvals: z.number().int().min(1).max(10).default(1).describe('distinct approvers needed'),
    role: z.enum(['reviewer', 'policy_owner', 'admin']).default('reviewer'),
    deadline: duration.prefault('24h'),
    on_deadline: z.enum(['expire', 'deny']).default('expire').describe('fail closed: never approve'),
    escalation: z.array(escalationStep).max(10).default([]),
    bulk: z.boolean().default(false).describe('may be approved or rejected in bulk'),
  })
  .strict();

const outcomeSpec = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('auto') }).strict(),
  z.object({ outcome: z.literal('review'), review: reviewSpec.optional() }).strict(),
  z.object({ outcome: z.literal('block'), reason: z.string().max(500).optional() }).strict(),
]);

const conditionSpec = z
  .object({
    action_type: z
      .array(z.enum(ACTION_TYPES as [string, ...string[]]))
      .min(1)
      .optional(),
    params: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('exact matches on action parameters'),
    confidence_at_least: z.number().min(0).max(1).optional(),
    confidence_below: z.number().min(0).max(1).optional(),
    expected_value_at_least: z.number().optional(),
    expected_value_at_most: z.number().optional(),
    deal_size_at_least: z.number().optional(),
    deal_size_at_most: z.number().optional(),
    risk_at_least: z.number().optional(),
    account_tier: z.array(z.string()).min(1).optional(),
    segment: z.array(z.string()).min(1).optional(),
    model_age_days_at_most: z.number().min(0).optional(),
    monitoring: z.enum(['ok', 'alarm']).optional(),
  })
  .strict();

export const policyDocumentSchema = z
  .object({
    description: z.string().max(2000).optional(),
    defaults: z
      .object({
        outcome: z.enum(['review', 'block']).default('review').describe('when no rule matches; never auto'),
        review: reviewSpec.default(reviewSpec.parse({})),
      })
      .strict()
      .default({ outcome: 'review', review: reviewSpec.parse({}) }),
    /** Model older than this is stale: its proposals never execute automatically. */
    max_model_age_days: z.number().min(0).default(30),
    rules: z
      .array(
        z
          .object({
            name: z.string().min(1).max(100),
            when: conditionSpec.default({}),
            then: outcomeSpec,
          })
          .strict(),
      )
      .max(500)
      .default([]),
  })
  .strict();

export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type ReviewSpec = z.output<typeof reviewSpec>;

/** Parses a YAML policy; every problem is reported with its path. */
export function parsePolicy(text: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (error) {
    throw new AppError('validation_failed', `The policy is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = policyDocumentSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || '(document)',
      message: i.message,
    }));
    throw new AppError(
      'validation_failed',
      `The policy is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      { fields: problems },
    );
  }
  const names = parsed.data.rules.map((r) => r.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length)
    throw new AppError(
      'validation_failed',
      `Rule names must be unique; repeated: ${[...new Set(repeated)].join(', ')}`,
    );
  return parsed.data;
}

/** What is known about a proposal when the gate looks at it. Missing facts never satisfy a condition. */
export interface GateFacts {
  action_type: string;
  params: Record<string, unknown>;
  confidence: number;
  expected_value: number | null;
  deal_size: number | null;
  risk: number | null;
  account_tier: string | null;
  segment: string | null;
  model_age_days: number | null;
  monitoring: 'ok' | 'alarm';
}

export type GateOutcome =
  | { outcome: 'auto'; rule: string | null; note?: string }
  | { outcome: 'review'; rule: string | null; review: ReviewSpec; note?: string }
  | { outcome: 'block'; rule: string | null; reason: string };

function matches(when: z.output<typeof conditionSpec>, f: GateFacts): boolean {
  const num = (v: number | null, test: (x: number) => boolean) => v !== null && Number.isFinite(v) && test(v);
  if (when.action_type && !when.action_type.includes(f.action_type)) return false;
  if (when.params && !Object.entries(when.params).every(([k, v]) => f.params[k] === v)) return false;
  if (when.confidence_at_least !== undefined && !num(f.confidence, (x) => x >= when.confidence_at_least!))
    return false;
  if (when.confidence_below !== undefined && !num(f.confidence, (x) => x < when.confidence_below!))
    return false;
  if (
    when.expected_value_at_least !== undefined &&
    !num(f.expected_value, (x) => x >= when.expected_value_at_least!)
  )
    return false;
  if (
    when.expected_value_at_most !== undefined &&
    !num(f.expected_value, (x) => x <= when.expected_value_at_most!)
  )
    return false;
  if (when.deal_size_at_least !== undefined && !num(f.deal_size, (x) => x >= when.deal_size_at_least!))
    return false;
  if (when.deal_size_at_most !== undefined && !num(f.deal_size, (x) => x <= when.deal_size_at_most!))
    return false;
  if (when.risk_at_least !== undefined && !num(f.risk, (x) => x >= when.risk_at_least!)) return false;
  if (when.account_tier && (f.account_tier === null || !when.account_tier.includes(f.account_tier)))
    return false;
  if (when.segment && (f.segment === null || !when.segment.includes(f.segment))) return false;
  if (
    when.model_age_days_at_most !== undefined &&
    !num(f.model_age_days, (x) => x <= when.model_age_days_at_most!)
  )
    return false;
  if (when.monitoring && f.monitoring !== when.monitoring) return false;
  return true;
}

/**
 * The gate. `policy` null (none active) sends everything to review. `breakerOpen` sends every "auto" to review.
 */
export function evaluateGate(
  policy: PolicyDocument | null,
  facts: GateFacts,
  breakerOpen: boolean,
): GateOutcome {
  const fallbackReview = policy?.defaults.review ?? reviewSpec.parse({});
  if (!policy)
    return {
      outcome: 'review',
      rule: null,
      review: fallbackReview,
      note: 'no active policy: everything goes to review',
    };
  const rule = policy.rules.find((r) => matches(r.when, facts));
  if (!rule) {
    return policy.defaults.outcome === 'block'
      ? { outcome: 'block', rule: null, reason: 'no rule matched and the default is block' }
      : { outcome: 'review', rule: null, review: fallbackReview, note: 'no rule matched' };
  }
  const then = rule.then;
  if (then.outcome === 'block')
    return { outcome: 'block', rule: rule.name, reason: then.reason ?? `blocked by rule ${rule.name}` };
  if (then.outcome === 'review')
    return { outcome: 'review', rule: rule.name, review: then.review ?? fallbackReview };
  if (breakerOpen)
    return {
      outcome: 'review',
      rule: rule.name,
      review: fallbackReview,
      note: 'circuit breaker open: automatic execution suspended',
    };
  if (facts.model_age_days !== null && facts.model_age_days > policy.max_model_age_days) {
    return {
      outcome: 'review',
      rule: rule.name,
      review: fallbackReview,
      note: `model is ${Math.round(facts.model_age_days)} days old (stale after ${policy.max_model_age_days})`,
    };
  }
  if (facts.monitoring === 'alarm')
    return {
      outcome: 'review',
      rule: rule.name,
      review: fallbackReview,
      note: 'monitoring alarm: automatic execution suspended',
    };
  return { outcome: 'auto', rule: rule.name };
}
