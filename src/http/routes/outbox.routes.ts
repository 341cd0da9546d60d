// The outbox over HTTP: what was (or will be) delivered where, the dead-letter queue and its replay, the
// connectors' circuit breakers, and compensation of an executed decision.
//
// Access: reading is 'read'. Replaying a dead letter and compensating send a CRM write on a person's word, after
// the automatic path gave up or the action turned out wrong, so both need 'policy' (policy owners and admins),
// the people who answer for what executes, and a reason, which the audit trail keeps.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { compensateDecision } from '../../execution/compensate-decision.ts';
import { listConnectorStates } from '../../execution/connector-breaker.ts';
import { getOutboxRow, listOutbox, OUTBOX_STATUSES } from '../../execution/list-outbox.ts';
import { replayDelivery } from '../../execution/replay-delivery.ts';
import { principalOf } from '../auth.ts';
import { pageOf, pageQuerySchema } from '../pagination.ts';

const outboxRowSchema = z.object({
  id: z.string(),
  decision_id: z.string(),
  kind: z.enum(['action', 'compensation']),
  connector: z.string(),
  idempotency_key: z.string(),
  payload: z
    .unknown()
    .describe('exactly what is sent: the approved action, or its inverse for a compensation'),
  status: z.enum(OUTBOX_STATUSES),
  attempts: z.number(),
  next_attempt_at: z.date().describe('pending: the next attempt; delivering: when its lease runs out'),
  last_error: z.string().nullable(),
  response: z.unknown(),
  delivered_at: z.date().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});

const reasonBody = z.object({
  reason: z.string().trim().min(3, 'say why (kept in the audit trail)').max(2000),
});
const idParams = z.object({ id: z.uuid() });

export const outboxRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/outbox',
    {
      config: { access: 'read' },
      schema: {
        tags: ['execution'],
        summary: 'Deliveries, newest first; status=dead is the dead-letter queue',
        querystring: pageQuerySchema.extend({
          status: z.enum(OUTBOX_STATUSES).optional(),
          connector: z.string().max(50).optional(),
          decision_id: z.uuid().optional(),
          kind: z.enum(['action', 'compensation']).optional(),
        }),
        response: { 200: pageOf(outboxRowSchema) },
      },
    },
    async (request) => {
      const q = request.query;
      return listOutbox(db, {
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.connector ? { connector: q.connector } : {}),
        ...(q.decision_id ? { decisionId: q.decision_id } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
      });
    },
  );

  app.get(
    '/outbox/connectors',
    {
      config: { access: 'read' },
      schema: {
        tags: ['execution'],
        summary: "The connectors' circuit breakers: consecutive failures, and until when each is open",
        response: {
          200: z.object({
            items: z.array(
              z.object({
                connector: z.string(),
                consecutive_failures: z.number(),
                open: z.boolean(),
                open_until: z.date().nullable(),
                updated_at: z.date(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ items: await listConnectorStates(db) }),
  );

  app.get(
    '/outbox/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['execution'],
        summary: 'One delivery, with the last error or the response',
        params: idParams,
        response: { 200: outboxRowSchema },
      },
    },
    async (request) => getOutboxRow(db, request.params.id),
  );

  app.post(
    '/outbox/:id/replay',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['execution'],
        summary:
          'Send a dead letter back to the queue (attempts reset, same idempotency key); the decision goes failed -> executing when it is claimed',
        params: idParams,
        body: reasonBody,
        response: { 200: outboxRowSchema },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return replayDelivery(db, {
        outboxId: request.params.id,
        actor: { name: actor.email, id: actor.userId },
        reason: request.body.reason,
      });
    },
  );

  app.post(
    '/decisions/:id/compensate',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['execution'],
        summary:
          'Undo an executed, reversible action (a routing: the previous owner is restored); 409 if it cannot be undone',
        params: idParams,
        body: reasonBody,
        response: {
          202: z.object({
            decision_id: z.string(),
            outbox_id: z.string(),
            connector: z.string(),
            action: z.object({ type: z.string(), params: z.record(z.string(), z.unknown()) }),
          }),
        },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const result = await compensateDecision(db, {
        decisionId: request.params.id,
        actor: { name: actor.email, id: actor.userId },
        reason: request.body.reason,
      });
      return reply.status(202).send(result);
    },
  );
};
