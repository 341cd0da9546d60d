import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { breakerState } from '../../gates/active-policy.ts';
import { setBreaker } from '../../gates/circuit-breaker.ts';
import { decidePolicy, diffDocuments, getPolicy, listPolicies, proposePolicy } from '../../gates/policies.ts';
import { simulatePolicy } from '../../gates/simulate-policy.ts';
import { parseDuration } from '../../cli/duration.ts';
import { principalOf } from '../auth.ts';

const record = z.record(z.string(), z.unknown());
const reason = z.string().trim().min(3, 'say why (kept in the audit trail)').max(2000);
const versionParams = z.object({ version: z.coerce.number().int().min(1) });
const actorOf = (request: Parameters<typeof principalOf>[0]) => {
  const p = principalOf(request);
  return { name: p.email, id: p.userId };
};

export const policyRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/policies',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gates'],
        summary: 'Policy versions (active, proposed, superseded, rejected)',
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async () => ({ items: await listPolicies(db) }),
  );

  app.post(
    '/policies',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['gates'],
        summary:
          'Propose a new policy version (YAML). It becomes active only when another policy owner approves it.',
        body: z.object({ document: z.string().min(1).max(200_000), reason }),
        response: { 201: record },
      },
    },
    async (request, reply) =>
      reply.status(201).send(
        await proposePolicy(db, {
          document: request.body.document,
          reason: request.body.reason,
          by: actorOf(request),
        }),
      ),
  );

  app.get(
    '/policies/:version',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gates'],
        summary: 'One policy version with its document',
        params: versionParams,
        response: { 200: record },
      },
    },
    async (request) => getPolicy(db, request.params.version),
  );

  app.get(
    '/policies/:version/diff',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gates'],
        summary: 'Line diff of a version against another (default: the active one)',
        params: versionParams,
        querystring: z.object({ against: z.coerce.number().int().min(1).optional() }),
        response: {
          200: z.object({
            from: z.number().nullable(),
            to: z.number(),
            lines: z.array(z.object({ op: z.enum([' ', '-', '+']), line: z.string() })),
          }),
        },
      },
    },
    async (request) => {
      const target = await getPolicy(db, request.params.version);
      const baseVersion =
        request.query.against ??
        (await db.selectFrom('policies').select('version').where('status', '=', 'active').executeTakeFirst())
          ?.version ??
        null;
      const base = baseVersion ? await getPolicy(db, baseVersion) : null;
      return {
        from: baseVersion,
        to: target.version,
        lines: diffDocuments(base?.document ?? '', target.document),
      };
    },
  );

  app.post(
    '/policies/:version/decision',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['gates'],
        summary:
          'Approve (activate) or reject a proposed version; the proposer cannot decide their own proposal',
        params: versionParams,
        body: z.object({ approve: z.boolean(), reason }),
        response: { 200: record },
      },
    },
    async (request) =>
      decidePolicy(db, {
        version: request.params.version,
        approve: request.body.approve,
        reason: request.body.reason,
        by: actorOf(request),
      }),
  );

  app.post(
    '/policies/simulate',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gates'],
        summary:
          'Replay recent proposals through a candidate policy: how many would have executed, gone to review or been blocked, and the review load per reviewer per day',
        body: z.object({
          document: z.string().min(1).max(200_000),
          since: z
            .string()
            .regex(/^\d+(\.\d+)?\s*[smhdw]$/, 'like 30d')
            .default('30d'),
          breaker_open: z.boolean().default(false),
        }),
        response: { 200: record },
      },
    },
    async (request) =>
      simulatePolicy(db, {
        document: request.body.document,
        since: new Date(Date.now() - parseDuration(request.body.since, 'since')),
        breakerOpen: request.body.breaker_open,
      }),
  );

  app.get(
    '/circuit-breaker',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gates'],
        summary: 'Whether automatic execution is suspended',
        response: { 200: record },
      },
    },
    async () => breakerState(db),
  );

  app.put(
    '/circuit-breaker',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['gates'],
        summary: 'Open (everything goes to review) or close the circuit breaker, with a reason',
        body: z.object({ open: z.boolean(), reason }),
        response: { 200: record },
      },
    },
    async (request) =>
      setBreaker(db, { open: request.body.open, reason: request.body.reason, by: actorOf(request) }),
  );
};
