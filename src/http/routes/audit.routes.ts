import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit, verifyAuditChain } from '../../audit/audit-log.ts';
import type { Db } from '../../db/database.ts';
import { pageQuerySchema, toPage } from '../pagination.ts';

const auditEntrySchema = z.object({
  id: z.string(),
  at: z.date(),
  actor: z.string(),
  actor_id: z.string().nullable(),
  action: z.string(),
  subject_type: z.string(),
  subject_id: z.string().nullable(),
  reason: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  prev_hash: z.string(),
  hash: z.string(),
});

const verifySchema = z.object({
  ok: z.boolean(),
  checked: z.number(),
  first_broken: z.object({ id: z.string(), reason: z.string() }).optional(),
});

export const auditRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/audit',
    {
      config: { access: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail, newest first: who did what, when, why, with before and after',
        querystring: pageQuerySchema.extend({
          action: z.string().max(100).optional(),
          subject_type: z.string().max(100).optional(),
          subject_id: z.string().max(200).optional(),
          actor: z.string().max(320).optional(),
          from: z.iso.datetime({ offset: true }).optional(),
          to: z.iso.datetime({ offset: true }).optional(),
        }),
        response: { 200: z.object({ items: z.array(auditEntrySchema), next_cursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listAudit(db, {
        limit: q.limit + 1,
        ...(q.cursor ? { before: q.cursor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.subject_type ? { subjectType: q.subject_type } : {}),
        ...(q.subject_id ? { subjectId: q.subject_id } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
      });
      return toPage(rows, q.limit, (r) => r.id);
    },
  );

  app.post(
    '/audit/verify',
    {
      config: { access: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain; names the first entry that was changed, removed or reordered',
        response: { 200: verifySchema },
      },
    },
    async () => verifyAuditChain(db),
  );

  app.get(
    '/audit/export',
    {
      config: { access: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The whole trail as JSON Lines, oldest first',
        produces: ['application/x-ndjson'],
        hide: false,
      },
    },
    async (_request, reply) => {
      void reply.type('application/x-ndjson');
      const lines: string[] = [];
      let after = '0';
      for (;;) {
        const rows = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('id', '>', after)
          .orderBy('id')
          .limit(5000)
          .execute();
        for (const row of rows) lines.push(JSON.stringify(row));
        if (rows.length < 5000) break;
        after = rows.at(-1)!.id;
      }
      return lines.join('\n') + (lines.length ? '\n' : '');
    },
  );
};
