import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_CONTACTS_PER_JOB } from '../../agents/agents.jobs.ts';
import { enqueueManualRun, recordManualRun } from '../../agents/manual-run.ts';
import { AGENT_NAMES, describeAgents } from '../../agents/registry.ts';
import { runAgents } from '../../agents/run-agents.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { principalOf } from '../auth.ts';

const record = z.record(z.string(), z.unknown());

const runBody = z
  .object({
    agent: z
      .enum(AGENT_NAMES, { error: `must be one of: ${AGENT_NAMES.join(', ')}` })
      .optional()
      .describe('omitted: every agent'),
    contact_ids: z
      .array(z.uuid())
      .min(1)
      .max(MAX_CONTACTS_PER_JOB)
      .optional()
      .describe(
        'run now for these contacts and answer with the result; omitted: queue a run over all open leads',
      ),
  })
  .default({});

export const agentRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (app, { db, config }) => {
  app.get(
    '/agents',
    {
      config: { access: 'read' },
      schema: {
        tags: ['agents'],
        summary: 'The agents: name, version, the action kind they propose, what they do',
        response: { 200: z.object({ items: z.array(record) }) },
      },
    },
    async () => ({ items: describeAgents() }),
  );

  app.post(
    '/agents/run',
    {
      config: { access: 'policy' },
      schema: {
        tags: ['agents'],
        summary:
          'Run agents by hand. With contact_ids: now, answering with what each agent proposed. Without: queued ' +
          '(routing as one batch over leads without an owner, the others over every open lead)',
        body: runBody,
        response: { 200: record, 202: record },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const actor = { name: principal.email, id: principal.userId };
      const agents = request.body.agent ? [request.body.agent] : [...AGENT_NAMES];
      const contactIds = request.body.contact_ids;
      if (!contactIds) return reply.status(202).send({ enqueued: await enqueueManualRun(db, actor, agents) });
      await recordManualRun(db, actor, { agents, contacts: contactIds.length });
      const result = await runAgents(db, { contactIds, agents, connector: config.executionConnector });
      return reply.status(200).send({ ...result });
    },
  );
};
