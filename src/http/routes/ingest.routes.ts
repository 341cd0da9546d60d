import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { listMerges, unmerge } from '../../ingest/identity.ts';
import { ingestCloudEvents } from '../../ingest/ingest-events.ts';
import { QUARANTINE_REASONS, getQuarantined, listQuarantine } from '../../ingest/quarantine.ts';
import { getAccountView, getBatch, getContactView } from '../../ingest/read.ts';
import { discardQuarantined, replayQuarantined } from '../../ingest/replay.ts';
import {
  createSource,
  listSources,
  rotateWebhookSecret,
  sourceInputSchema,
  sourceViewSchema,
  validWebhookSecrets,
} from '../../ingest/sources.ts';
import { verifyWebhook } from '../../ingest/webhook-signature.ts';
import { principalOf } from '../auth.ts';
import { pageQuerySchema, toPage } from '../pagination.ts';
import { ingestReportSchema } from './events.routes.ts';

const uuidParams = z.object({ id: z.uuid() });
const record = z.record(z.string(), z.unknown());

export const ingestRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (app, { db }) => {
  app.get(
    '/sources',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ingest'],
        summary: 'Registered event sources',
        response: { 200: z.object({ items: z.array(sourceViewSchema) }) },
      },
    },
    async () => ({
      items: (await listSources(db)).map(({ secrets, ...s }) => ({
        ...s,
        webhook_secrets: Number(secrets ?? 0),
      })),
    }),
  );

  app.post(
    '/sources',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest'],
        summary: 'Register a source; events from unregistered sources are quarantined',
        body: sourceInputSchema,
        response: { 201: sourceViewSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send({ ...(await createSource(db, request.body)), webhook_secrets: 0 }),
  );

  app.post(
    '/sources/:name/webhook-secrets',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest'],
        summary:
          'Create (rotate) the webhook secret of a source; shown once. Older secrets stay valid for overlap_seconds.',
        params: z.object({ name: z.string().max(200) }),
        body: z
          .object({
            overlap_seconds: z
              .number()
              .int()
              .min(0)
              .max(30 * 86_400)
              .default(86_400),
          })
          .default({ overlap_seconds: 86_400 }),
        response: {
          201: z.object({
            source: z.string(),
            secret: z.string(),
            previous_secrets_valid_for_seconds: z.number(),
          }),
        },
      },
    },
    async (request, reply) => {
      const { secret } = await rotateWebhookSecret(db, request.params.name, request.body.overlap_seconds);
      return reply.status(201).send({
        source: request.params.name,
        secret,
        previous_secrets_valid_for_seconds: request.body.overlap_seconds,
      });
    },
  );

  app.get(
    '/ingest/batches/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ingest'],
        summary: 'An ingest batch: counts of accepted, duplicate and quarantined records',
        params: uuidParams,
        response: {
          200: z.object({
            id: z.string(),
            source: z.string(),
            channel: z.string(),
            mapping_version: z.string().nullable(),
            description: z.string().nullable(),
            created_by: z.string().nullable(),
            started_at: z.date(),
            finished_at: z.date().nullable(),
            accepted: z.number(),
            duplicate: z.number(),
            quarantined: z.number(),
          }),
        },
      },
    },
    async (request) => getBatch(db, request.params.id),
  );

  const quarantineView = z.object({
    id: z.string(),
    batch_id: z.string().nullable(),
    channel: z.string(),
    source: z.string().nullable(),
    source_event_id: z.string().nullable(),
    record_number: z.number().nullable(),
    reason_code: z.string(),
    reason: z.string(),
    errors: z.unknown(),
    raw: z.unknown(),
    mapping_version: z.string().nullable(),
    status: z.string(),
    received_at: z.date(),
    resolved_at: z.date().nullable(),
    resolved_by: z.string().nullable(),
    replay_event_id: z.string().nullable(),
  });

  app.get(
    '/quarantine',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ingest'],
        summary: 'Quarantined records with their reasons, oldest first',
        querystring: pageQuerySchema.extend({
          status: z.enum(['open', 'replayed', 'discarded']).default('open'),
          reason_code: z.enum(QUARANTINE_REASONS).optional(),
          source: z.string().optional(),
          batch_id: z.uuid().optional(),
        }),
        response: { 200: z.object({ items: z.array(quarantineView), next_cursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listQuarantine(db, {
        limit: q.limit + 1,
        status: q.status,
        ...(q.reason_code ? { reasonCode: q.reason_code } : {}),
        ...(q.source ? { source: q.source } : {}),
        ...(q.batch_id ? { batchId: q.batch_id } : {}),
        ...(q.cursor ? { after: q.cursor } : {}),
      });
      return toPage(rows, q.limit, (r) => `${r.received_at.toISOString()}|${r.id}`);
    },
  );

  app.get(
    '/quarantine/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ingest'],
        summary: 'One quarantined record',
        params: uuidParams,
        response: { 200: quarantineView },
      },
    },
    async (request) => getQuarantined(db, request.params.id),
  );

  app.post(
    '/quarantine/:id/replay',
    {
      config: { access: 'ingest' },
      schema: {
        tags: ['ingest'],
        summary: 'Replay a quarantined record, as stored or with a corrected CloudEvent in "event"',
        params: uuidParams,
        body: z.object({ event: record.optional() }).default({}),
        response: {
          200: z.object({ quarantine_id: z.string(), result: ingestReportSchema.shape.results.element }),
        },
      },
    },
    async (request) =>
      replayQuarantined(db, request.params.id, {
        by: principalOf(request).email,
        ...(request.body.event ? { corrected: request.body.event } : {}),
      }),
  );

  app.post(
    '/quarantine/:id/discard',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest'],
        summary: 'Close a quarantined record without storing it (the record and the reason are kept)',
        params: uuidParams,
        body: z.object({ reason: z.string().trim().min(3, 'say why it is discarded').max(1000) }),
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await discardQuarantined(db, request.params.id, principalOf(request).email, request.body.reason);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/contacts/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary:
          'A resolved contact: identity keys, merged ids, latest attributes (merged ids resolve to the survivor)',
        params: uuidParams,
        response: { 200: record },
      },
    },
    async (request) => getContactView(db, request.params.id),
  );

  app.get(
    '/accounts/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary:
          'A resolved account: identity keys, merged ids, latest attributes, contacts and opportunities',
        params: uuidParams,
        response: { 200: record },
      },
    },
    async (request) => getAccountView(db, request.params.id),
  );

  app.get(
    '/identity/merges',
    {
      config: { access: 'read' },
      schema: {
        tags: ['entities'],
        summary: 'Identity merges with their evidence',
        querystring: z.object({
          entity_id: z.uuid().optional(),
          kind: z.enum(['contact', 'account']).optional(),
        }),
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async (request) => ({
      items: await listMerges(db, {
        ...(request.query.entity_id ? { entityId: request.query.entity_id } : {}),
        ...(request.query.kind ? { kind: request.query.kind } : {}),
      }),
    }),
  );

  app.post(
    '/identity/merges/:id/unmerge',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['entities'],
        summary: 'Undo a merge: keys go back and events are re-attributed from their own identity keys',
        params: uuidParams,
        body: z.object({ reason: z.string().trim().min(3, 'say why the merge was wrong').max(1000) }),
        response: { 200: record },
      },
    },
    async (request) => unmerge(db, request.params.id, principalOf(request).email, request.body.reason),
  );
};

export const webhookRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (
  app,
  { db, config },
) => {
  // The signature covers the exact bytes, so the body stays a string until it has been verified.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post(
    '/webhooks/:source',
    {
      config: { access: 'signed' },
      bodyLimit: config.batchBodyLimitBytes,
      schema: {
        tags: ['ingest'],
        summary:
          'Signed webhook (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) carrying one CloudEvent or an array',
        security: [],
        params: z.object({ source: z.string().max(200) }),
        response: {
          200: ingestReportSchema.extend({ batch_id: z.uuid().nullable(), duplicate_delivery: z.boolean() }),
        },
      },
    },
    async (request) => {
      const source = request.params.source;
      const body = typeof request.body === 'string' ? request.body : '';
      const header = (name: string) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      verifyWebhook(
        await validWebhookSecrets(db, source),
        {
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signature: header('webhook-signature'),
        },
        body,
        Date.now(),
        config.webhookToleranceSeconds,
      );
      const webhookId = header('webhook-id')!;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (error) {
        throw new AppError('bad_request', `The webhook body is not valid JSON: ${(error as Error).message}`);
      }
      const events = Array.isArray(parsed) ? parsed : [parsed];
      const mismatched = events
        .map((e, index) => ({ index, source: (e as { source?: unknown })?.source }))
        .filter((e) => e.source !== undefined && e.source !== source);
      if (mismatched.length > 0) {
        throw new AppError(
          'validation_failed',
          `Events in a webhook for "${source}" must have source "${source}" (or none)`,
          {
            fields: mismatched.map((m) => ({
              field: `body.${m.index}.source`,
              message: `is "${String(m.source)}"`,
            })),
          },
        );
      }
      const receipt = await db
        .insertInto('webhook_receipts')
        .values({ source, webhook_id: webhookId })
        .onConflict((oc) => oc.columns(['source', 'webhook_id']).doNothing())
        .returning('webhook_id')
        .executeTakeFirst();
      if (!receipt) {
        // Replayed delivery: acknowledged, not processed again.
        return {
          batch_id: null,
          accepted: 0,
          duplicate: events.length,
          quarantined: 0,
          results: [],
          duplicate_delivery: true,
        };
      }
      const withSource = events.map((e) =>
        e && typeof e === 'object' && !Array.isArray(e) ? { source, ...e } : e,
      );
      const report = await ingestCloudEvents(db, withSource, {
        channel: 'webhook',
        description: `webhook ${webhookId}`,
      });
      return { ...report, duplicate_delivery: false };
    },
  );
};
