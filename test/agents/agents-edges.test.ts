// The ways agents get triggered: seconds after new events (rescoring enqueues agents.run), the HTTP API
// (list, run now, queue), and the CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { startWorker, type WorkerHandle } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { scoreContacts } from '../../src/models/score-contacts.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const root = path.resolve(import.meta.dirname, '../..');
let database: TestDatabase;
let server: TestServer;
const now = new Date();

async function leadIds(limit: number): Promise<string[]> {
  const rows = await database.db
    .selectFrom('contacts')
    .select('id')
    .where('merged_into_id', 'is', null)
    .where('lifecycle_stage', 'in', ['lead', 'mql'])
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  await runSimulation({
    db: database.db,
    params: { seed: 3, accounts: 60, months: 6, now },
    sink: inProcessSink(database.db),
  });
  await sql`delete from dirty_contacts`.execute(database.db);
  const ids = await database.db.selectFrom('contacts').select('id').execute();
  await scoreContacts(
    database.db,
    ids.map((r) => r.id),
    { asOf: now },
  );
}, 240_000);
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('API', () => {
  it('lists the agents', async () => {
    const analyst = await server.tokenFor('analyst');
    const response = await server.request('/v1/agents', { token: analyst });
    expect(response.status).toBe(200);
    expect(response.body.items.map((a: any) => [a.name, a.action_kind])).toEqual([
      ['qualification', 'lead.qualify'],
      ['routing', 'lead.assign_owner'],
      ['followup-timing', 'followup.schedule'],
      ['next-best-action', 'nba.recommend'],
    ]);
    expect(response.body.items.every((a: any) => a.version && a.description.length > 20)).toBe(true);
  });

  it('runs agents for given contacts now, and queues a sweep; only for policy owners and admins', async () => {
    const [contactId] = await leadIds(1);
    const analyst = await server.tokenFor('analyst');
    const denied = await server.request('/v1/agents/run', {
      method: 'POST',
      token: analyst,
      json: { agent: 'qualification', contact_ids: [contactId] },
    });
    expect(denied.status).toBe(403);

    const owner = await server.tokenFor('policy_owner');
    const bad = await server.request('/v1/agents/run', {
      method: 'POST',
      token: owner,
      json: { agent: 'nope' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/qualification/);

    const ran = await server.request('/v1/agents/run', {
      method: 'POST',
      token: owner,
      json: { agent: 'qualification', contact_ids: [contactId] },
    });
    expect(ran.status).toBe(200);
    expect(ran.body.agents).toHaveLength(1);
    expect(ran.body.agents[0]).toMatchObject({ agent: 'qualification', created: 1 });
    expect(ran.body.agents[0].decisions[0]).toMatchObject({
      contact_id: contactId,
      status: 'pending_review',
    });

    const queued = await server.request('/v1/agents/run', { method: 'POST', token: owner, json: {} });
    expect(queued.status).toBe(202);
    expect(queued.body.enqueued.map((j: any) => j.job).sort()).toEqual(['agents.route', 'agents.run']);
    const jobs = await sql<{ task_identifier: string }>`
      select task_identifier from graphile_worker.jobs where task_identifier like 'agents.%'`.execute(
      database.db,
    );
    expect(jobs.rows.map((r) => r.task_identifier).sort()).toEqual(['agents.route', 'agents.run']);
    await sql`delete from graphile_worker._private_jobs where task_id in (
      select id from graphile_worker._private_tasks where identifier like 'agents.%')`.execute(database.db);

    const audit = await database.db
      .selectFrom('audit_log')
      .select(['actor', 'reason'])
      .where('action', '=', 'agents.run')
      .execute();
    expect(audit.map((a) => a.reason).sort()).toEqual(['queued by hand', 'run by hand']);
  });
});

describe('after new events', () => {
  let worker: WorkerHandle;
  afterAll(async () => worker?.stop());

  it('rescoring enqueues the agents, which propose within seconds', async () => {
    const [, contactId] = await leadIds(2);
    const contact = await database.db
      .selectFrom('contacts')
      .select('email')
      .where('id', '=', contactId!)
      .executeTakeFirstOrThrow();
    worker = await startWorker({
      db: database.db,
      pool: database.pool,
      logger: createLogger({ logLevel: 'silent' }),
      concurrency: 2,
      pollIntervalMs: 100,
    });
    const ingest = await server.tokenFor('ingest');
    const posted = await server.request('/v1/events', {
      method: 'POST',
      token: ingest,
      json: {
        specversion: '1.0',
        id: 'agents-edge-1',
        source: 'simulator',
        type: 'web.page_viewed',
        time: new Date().toISOString(),
        data: { contact: { email: contact.email }, url: 'https://www.revenue-platform.example/pricing' },
      },
    });
    expect(posted.status).toBeLessThan(300);
    const deadline = Date.now() + 30_000;
    let agents: string[] = [];
    while (Date.now() < deadline) {
      const rows = await database.db
        .selectFrom('decisions')
        .select('agent')
        .where('subject_id', '=', contactId!)
        .where('status', '=', 'pending_review')
        .execute();
      agents = rows.map((r) => r.agent).sort();
      if (agents.includes('next-best-action') && agents.includes('qualification')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(agents).toEqual(expect.arrayContaining(['next-best-action', 'qualification']));
  });
});

describe('CLI', () => {
  function funnelgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        path.join(root, 'node_modules/.bin/node'),
        [path.join(root, 'bin/funnelgate.js'), ...args],
        { cwd: root, timeout: 120_000, env: { DATABASE_URL: database.url, NO_COLOR: '1' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  }

  it('lists agents and runs one for a contact', async () => {
    const list = await funnelgate('agents', 'list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(4);

    const [, , contactId] = await leadIds(3);
    const run = await funnelgate(
      'agents',
      'run',
      '--agent',
      'next-best-action',
      '--contact',
      contactId!,
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.agents[0]).toMatchObject({ agent: 'next-best-action', contacts: 1 });
    expect(result.agents[0].created + result.agents[0].unchanged).toBe(1);

    const bad = await funnelgate('agents', 'run', '--agent', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown agent/);
  });
});
