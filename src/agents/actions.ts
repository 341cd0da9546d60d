// The actions agents may propose, each with the zod schema of its exact parameters. An edited action is
// validated against the same schema before it is frozen.
import { z } from 'zod';

const iso = z.iso.datetime({ offset: true });

export const ACTION_SCHEMAS = {
  'lead.qualify': z.object({
    contact_id: z.uuid(),
    to_stage: z.enum(['sql', 'nurture', 'disqualified']),
    reason: z.string().max(2000),
  }),
  'lead.assign_owner': z.object({
    contact_id: z.uuid(),
    owner_id: z.uuid(),
    previous_owner_id: z.uuid().nullable(),
  }),
  'followup.schedule': z.object({
    contact_id: z.uuid(),
    owner_id: z.uuid().nullable(),
    channel: z.enum(['email', 'call']),
    at: iso,
    timezone: z.string(),
  }),
  'nba.recommend': z.object({
    contact_id: z.uuid(),
    action: z.enum(['email', 'call', 'meeting_request', 'nurture_sequence', 'escalate_to_ae', 'disqualify']),
    owner_id: z.uuid().nullable(),
    note: z.string().max(2000).optional(),
  }),
  'funnel.remediate': z.object({
    stage: z.string(),
    segment: z.record(z.string(), z.string()),
    remedy: z.enum(['rebalance_owners', 'add_follow_up_step', 'escalate']),
    note: z.string().max(2000),
  }),
} as const;

export type ActionType = keyof typeof ACTION_SCHEMAS;
export const ACTION_TYPES = Object.keys(ACTION_SCHEMAS) as ActionType[];

export const actionSchema = z.object({
  type: z.enum(ACTION_TYPES as [ActionType, ...ActionType[]]),
  params: z.record(z.string(), z.unknown()),
});
export type Action = { type: ActionType; params: Record<string, unknown> };

/** Validates an action's parameters against its type's schema; returns the parsed action or the field errors. */
export function validateAction(
  action: unknown,
): { ok: true; action: Action } | { ok: false; errors: { field: string; message: string }[] } {
  const envelope = actionSchema.safeParse(action);
  if (!envelope.success) {
    return {
      ok: false,
      errors: envelope.error.issues.map((i) => ({
        field: ['action', ...i.path].join('.'),
        message: i.message,
      })),
    };
  }
  const parsed = ACTION_SCHEMAS[envelope.data.type].safeParse(envelope.data.params);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => ({
        field: ['action', 'params', ...i.path].join('.'),
        message: i.message,
      })),
    };
  }
  return { ok: true, action: { type: envelope.data.type, params: parsed.data as Record<string, unknown> } };
}

/** A field-by-field diff of two actions' parameters, for reviewers and the trail. */
export function actionDiff(
  before: Action,
  after: Action,
): { field: string; before: unknown; after: unknown }[] {
  const fields = new Set([...Object.keys(before.params), ...Object.keys(after.params)]);
  const diff: { field: string; before: unknown; after: unknown }[] = [];
  if (before.type !== after.type) diff.push({ field: 'type', before: before.type, after: after.type });
  for (const field of [...fields].sort()) {
    const a = before.params[field];
    const b = after.params[field];
    if (JSON.stringify(a) !== JSON.stringify(b))
      diff.push({ field: `params.${field}`, before: a ?? null, after: b ?? null });
  }
  return diff;
}
