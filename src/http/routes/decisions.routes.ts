// The review inbox: decisions, claims, reviews (approve / reject / edit), bulk review, comments and the trail.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { DECISION_STATES } from '../../domain/decision-state.ts';
import { AppError } from '../../errors.ts';
import { BULK_REVIEW_CAP, bulkReview } from '../../review/bulk-review.ts';
import { CLAIM_LEASE_MS, claimDecision } from '../../review/claim-decision.ts';
import { addComment, COMMENT_MAX_CHARS } from '../../review/comment.ts';
import { decisionTrail, TRAIL_STAGES } from '../../review/decision-trail.ts';
import { getDecision } from '../../review/get-decision.ts';
import { DECISION_SORTS, listDecisions, type DecisionFilter } from '../../review/list-decisions.ts';
import { reviewDecision } from '../../review/review-decision.ts';
import type { Reviewer } from '../../review/review-repository.ts';
import type { Principal } from '../../auth/tokens.ts';
import { principalOf } from '../auth.ts';
import { pageOf, pageQuerySchema } from '../pagination.ts';

const idParams = z.object({ id: z.uuid('must be a decision id (UUID)') });
const subjectType = z.enum(['contact', 'account', 'opportunity', 'bottleneck']);
const iso = z.iso.datetime({ offset: true });
const actionView = z.object({ type: z.string(), params: z.record(z.string(), z.unknown()) });
const diffView = z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() }));

const decisionView = z.object({
  id: z.string(),
  agent: z.string(),
  agent_version: z.string(),
  subject_type: z.string(),
  subject_id: z.string(),
  action_type: z.string(),
  action_kind: z.string(),
  action: z.unknown(),
  confidence: z.number(),
  expected_value: z.number().nullable(),
  risk: z.number().nullable(),
  explanation: z.unknown(),
  dissent: z.string(),
  mitigations: z.unknown(),
  alternatives: z.unknown(),
  status: z.string(),
  gate: z.unknown(),
  policy_version: z.number().nullable(),
  approvals_required: z.number(),
  required_role: z.string().nullable(),
  deadline_at: z.date().nullable(),
  on_deadline: z.string().nullable(),
  escalation_level: z.number(),
  next_escalation_at: z.date().nullable(),
  assigned_to: z.string().nullable(),
  claimed_by: z.string().nullable(),
  claim_expires_at: z.date().nullable(),
  approved_action: z.unknown(),
  edited: z.boolean(),
  execution: z.unknown(),
  outcome: z.unknown(),
  created_at: z.date(),
  updated_at: z.date(),
  decided_at: z.date().nullable(),
});
const listItemView = decisionView.extend({
  approvals_given: z.number().describe('approvals that count for the current version of the action'),
  subject_name: z
    .string()
    .nullable()
    .describe("the contact's name (or email), the account's or opportunity's name"),
});
const detailView = decisionView.extend({
  inputs: z.unknown(),
  facts: z.unknown(),
  current_action: actionView.describe('the version awaiting approval (the last edit, or the proposal)'),
  diff: diffView.nullable().describe('current or approved action against the proposal, when edited'),
  approvals: z.object({ required: z.number(), given: z.number(), approvers: z.array(z.string()) }),
  claim: z
    .object({ claimed_by: z.string(), claimed_by_name: z.string().nullable(), claim_expires_at: z.date() })
    .nullable(),
  assigned_to_name: z.string().nullable(),
  reviews: z.array(
    z.object({
      id: z.string(),
      reviewer_id: z.string(),
      reviewer: z.string(),
      verdict: z.string(),
      reason: z.string().nullable(),
      edited_action: z.unknown(),
      diff: z.unknown(),
      at: z.date(),
      seconds_to_decide: z.number().nullable(),
    }),
  ),
  comments: z.array(
    z.object({ id: z.string(), author_id: z.string(), author: z.string(), body: z.string(), at: z.date() }),
  ),
  transitions: z.array(
    z.object({
      id: z.string(),
      from_status: z.string().nullable(),
      to_status: z.string(),
      at: z.date(),
      actor: z.string(),
      reason: z.string().nullable(),
      details: z.unknown(),
    }),
  ),
});

/** Filters shared by the inbox query and the bulk body (numbers come as text in a query string). */
const filterFields = {
  agent: z.string().max(100).optional(),
  action_type: z.string().max(100).optional(),
  subject_type: subjectType.optional(),
  subject_id: z.uuid().optional(),
  assigned_to: z.uuid().optional(),
  due_before: iso.optional().describe('deadline before this time'),
};
const rangeFields = (num: z.ZodType<number>) => ({
  confidence_min: num.optional(),
  confidence_max: num.optional(),
  risk_min: num.optional(),
  risk_max: num.optional(),
  expected_value_min: num.optional(),
  expected_value_max: num.optional(),
});

const listQuery = pageQuerySchema
  .extend({
    status: z.enum(DECISION_STATES).optional(),
    ...filterFields,
    ...rangeFields(z.coerce.number()),
    mine: z.enum(['true', 'false']).optional().describe('only decisions assigned to the caller'),
    created_after: iso.optional(),
    created_before: iso.optional(),
    sort: z
      .enum(DECISION_SORTS)
      .default('-created')
      .describe('"-" first for descending; missing values last'),
  })
  .refine((q) => !(q.mine === 'true' && q.assigned_to), {
    message: 'give either mine=true or assigned_to, not both',
    path: ['mine'],
  });

const reviewBody = z
  .object({
    verdict: z.enum(['approve', 'reject', 'edit']),
    reason: z.string().trim().max(2000).optional(),
    action: z
      .object({ type: z.string(), params: z.record(z.string(), z.unknown()) })
      .optional()
      .describe('edit: the edited action. approve: optional, must equal the version awaiting approval'),
  })
  .superRefine((body, ctx) => {
    if (body.verdict !== 'approve' && !body.reason)
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: `required when the verdict is ${body.verdict}`,
      });
    if (body.verdict === 'edit' && !body.action)
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'required when the verdict is edit' });
  });

const bulkBody = z.object({
  filter: z
    .object({
      ids: z.array(z.uuid()).min(1).max(BULK_REVIEW_CAP).optional(),
      status: z.literal('pending_review').optional().describe('bulk review only ever touches pending_review'),
      ...filterFields,
      ...rangeFields(z.number()),
      mine: z.boolean().optional(),
    })
    .strict()
    .refine((f) => Object.values(f).some((v) => v !== undefined && v !== false), {
      message: 'name the decisions: ids or at least one filter field',
    }),
  verdict: z.enum(['approve', 'reject']),
  reason: z.string().trim().min(3, 'say why (kept with every review and in the audit trail)').max(2000),
});

function reviewerOf(principal: Principal): Reviewer {
  return { id: principal.userId, name: principal.email, roles: principal.roles };
}

function toFilter(
  input: Record<string, unknown> & {
    due_before?: string | undefined;
    created_after?: string | undefined;
    created_before?: string | undefined;
  },
  principal: Principal,
  mine: boolean,
): DecisionFilter {
  const { due_before, created_after, created_before, ...rest } = input;
  const filter: Record<string, unknown> = {};
  for (const key of [
    'ids',
    'status',
    'agent',
    'action_type',
    'subject_type',
    'subject_id',
    'assigned_to',
    'confidence_min',
    'confidence_max',
    'risk_min',
    'risk_max',
    'expected_value_min',
    'expected_value_max',
  ]) {
    if (rest[key] !== undefined) filter[key] = rest[key];
  }
  if (mine) filter.assigned_to = principal.userId;
  if (due_before) filter.due_before = new Date(due_before);
  if (created_after) filter.created_after = new Date(created_after);
  if (created_before) filter.created_before = new Date(created_before);
  return filter as DecisionFilter;
}

export const decisionRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (
  app,
  { db, config },
) => {
  app.get(
    '/decisions',
    {
      config: { access: 'read' },
      schema: {
        tags: ['decisions'],
        summary: 'Decisions, e.g. the review inbox: status=pending_review&mine=true&sort=due',
        querystring: listQuery,
        response: { 200: pageOf(listItemView) },
      },
    },
    async (request) => {
      const { limit, cursor, sort, mine, ...rest } = request.query;
      const page = await listDecisions(db, {
        filter: toFilter(rest, principalOf(request), mine === 'true'),
        sort,
        limit,
        ...(cursor ? { cursor } : {}),
      });
      return {
        items: page.items.map(({ inputs: _i, facts: _f, sort_key: _s, ...d }) => d),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.get(
    '/decisions/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['decisions'],
        summary:
          'One decision with its reviews, comments, transitions, claim, and the frozen action and diff',
        params: idParams,
        response: { 200: detailView },
      },
    },
    async (request) => {
      const { decision, ...rest } = await getDecision(db, request.params.id);
      return { ...decision, ...rest };
    },
  );

  app.post(
    '/decisions/:id/claim',
    {
      config: { access: 'review' },
      schema: {
        tags: ['decisions'],
        summary: `Claim a decision for ${CLAIM_LEASE_MS / 60_000} minutes (claim again to renew; { "release": true } to let go). 409 names the holder`,
        params: idParams,
        body: z
          .object({ release: z.boolean().optional() })
          .nullish()
          .describe('optional; no body claims or renews'),
        response: {
          200: z.object({
            decision_id: z.string(),
            claimed_by: z.string().nullable(),
            claim_expires_at: z.date().nullable(),
          }),
        },
      },
    },
    async (request) =>
      claimDecision(db, {
        decisionId: request.params.id,
        reviewer: reviewerOf(principalOf(request)),
        release: request.body?.release === true,
      }),
  );

  app.post(
    '/decisions/:id/reviews',
    {
      config: { access: 'review' },
      schema: {
        tags: ['decisions'],
        summary:
          'Approve, reject (reason required) or edit (reason and action required) a decision waiting for review',
        params: idParams,
        body: reviewBody,
        response: {
          201: z.object({
            decision_id: z.string(),
            review_id: z.string(),
            verdict: z.string(),
            status: z.string(),
            approvals: z.object({ given: z.number(), required: z.number() }),
            approved_action: actionView.nullable(),
            diff: diffView.nullable(),
          }),
        },
      },
    },
    async (request, reply) => {
      const result = await reviewDecision(db, {
        decisionId: request.params.id,
        reviewer: reviewerOf(principalOf(request)),
        verdict: request.body.verdict,
        reason: request.body.reason ?? null,
        action: request.body.action,
        connector: config.executionConnector,
      });
      return reply.status(201).send(result);
    },
  );

  app.post(
    '/decisions/bulk-reviews',
    {
      config: { access: 'review' },
      schema: {
        tags: ['decisions'],
        summary: `Approve or reject up to ${BULK_REVIEW_CAP} decisions waiting for review, each on its own; approval only where the policy allows bulk and one approval is needed`,
        body: bulkBody,
        response: {
          200: z.object({
            verdict: z.string(),
            matched: z.number(),
            done: z.number(),
            refused: z.number(),
            more: z.boolean(),
            results: z.array(
              z.object({
                decision_id: z.string(),
                outcome: z.enum(['done', 'refused']),
                status: z.string().nullable(),
                code: z.string().optional(),
                reason: z.string().optional(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { mine, ...filter } = request.body.filter;
      if (mine && filter.assigned_to)
        throw new AppError('validation_failed', 'give either filter.mine or filter.assigned_to, not both', {
          fields: [{ field: 'body.filter.mine', message: 'conflicts with assigned_to' }],
        });
      return bulkReview(db, {
        filter: toFilter(filter, principal, mine === true),
        verdict: request.body.verdict,
        reason: request.body.reason,
        reviewer: reviewerOf(principal),
        connector: config.executionConnector,
      });
    },
  );

  app.post(
    '/decisions/:id/comments',
    {
      config: { access: 'review' },
      schema: {
        tags: ['decisions'],
        summary: 'Comment on a decision',
        params: idParams,
        body: z.object({ body: z.string().trim().min(1, 'must not be empty').max(COMMENT_MAX_CHARS) }),
        response: {
          201: z.object({
            id: z.string(),
            decision_id: z.string(),
            author_id: z.string(),
            author: z.string(),
            body: z.string(),
            at: z.date(),
          }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const comment = await addComment(db, {
        decisionId: request.params.id,
        author: { id: principal.userId, name: principal.email },
        body: request.body.body,
      });
      return reply.status(201).send(comment);
    },
  );

  app.get(
    '/decisions/:id/trail',
    {
      config: { access: 'read' },
      schema: {
        tags: ['decisions'],
        summary:
          'The story of one decision: events, features, model, agent, policy, reviews, execution, outcome',
        params: idParams,
        response: {
          200: z.object({
            decision_id: z.string(),
            status: z.string(),
            steps: z.array(
              z.object({
                stage: z.enum(TRAIL_STAGES),
                at: z.date().nullable(),
                summary: z.string(),
                details: z.record(z.string(), z.unknown()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => decisionTrail(db, request.params.id),
  );
};
