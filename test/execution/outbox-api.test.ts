// The outbox over HTTP and the CLI: listing with filters and cursor pagination, one row, access levels, and
// `funnelgate outbox list|replay` as a script sees it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeliveries } from '../../src/execution/deliver.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  createContact,
  decisionOf,
  outboxOf,
  proposeDecision,
  startTarget,
  testSettings,
  type Target,
} from './fixtures.ts';

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const bin = path.join(root, 'bin/funnelgate.js');

let database: TestDatabase;
let server: TestServer;
let target: Target;
const delivered: string[] = [];
let deadDecision: string;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  target = await startTarget();
  for (let i = 0; i < 5; i++) {
    const contactId = await createContact(database.db);
    delivered.push(
      await proposeDecision(
        database.db,
        { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'sql', reason: `lead ${i}` } },
        { connector: 'log' },
      ),
    );
  }
  const contactId = await createContact(database.db);
  deadDecision = await proposeDecision(
    database.db,
    { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'nurture', reason: 'later' } },
    { connector: 'webhook' },
  );
  target.answer = () => ({ status: 422, body: { message: 'unknown stage' } });
  await runDeliveries(database.db, testSettings(target.url));
});
afterAll(async () => {
  await target?.close();
  await server?.close();
  await database?.drop();
});

function funnelgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [bin, ...args],
      { cwd: root, timeout: 60_000, env: { DATABASE_URL: database.url, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('GET /v1/outbox', () => {
  it('pages through every delivery newest first, without repeats, and filters', async () => {
    const token = await server.tokenFor('analyst');
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await server.request(
        `/v1/outbox?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token },
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen.map((r) => r.id)).size).toBe(6);
    const times = seen.map((r) => Date.parse(r.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const dead = await server.request('/v1/outbox?status=dead', { token });
    expect(dead.body.items).toHaveLength(1);
    expect(dead.body.items[0]).toMatchObject({
      decision_id: deadDecision,
      connector: 'webhook',
      kind: 'action',
      status: 'dead',
      attempts: 1,
      idempotency_key: `fg-${deadDecision}-action`,
      last_error: expect.stringMatching(/answered 422/),
      payload: { type: 'lead.qualify' },
    });
    const log = await server.request('/v1/outbox?connector=log&status=delivered', { token });
    expect(log.body.items).toHaveLength(5);
    const one = await server.request(`/v1/outbox?decision_id=${delivered[0]}`, { token });
    expect(one.body.items.map((r: any) => r.decision_id)).toEqual([delivered[0]]);
    const row = await server.request(`/v1/outbox/${one.body.items[0].id}`, { token });
    expect(row.body).toMatchObject({ id: one.body.items[0].id, status: 'delivered' });
  });

  it('says what is wrong with a request, and who may not read', async () => {
    const token = await server.tokenFor('analyst');
    expect((await server.request('/v1/outbox?cursor=nonsense', { token })).status).toBe(400);
    expect((await server.request('/v1/outbox?status=lost', { token })).status).toBe(400);
    const missing = await server.request('/v1/outbox/00000000-0000-4000-8000-000000000000', { token });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const ingest = await server.request('/v1/outbox', { token: await server.tokenFor('ingest') });
    expect(ingest.status).toBe(403);
  });
});

describe('funnelgate outbox', () => {
  it('lists the dead-letter queue and replays a dead letter', async () => {
    const list = await funnelgate('outbox', 'list', '--status', 'dead', '--json');
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout);
    expect(rows.map((r: any) => r.decision_id)).toEqual([deadDecision]);
    const human = await funnelgate('outbox', 'list', '--status', 'dead');
    expect(human.stdout).toMatch(/lead\.qualify\s+webhook\s+dead\s+1/);

    expect((await funnelgate('outbox', 'replay', 'not-a-uuid', '--reason', 'fixed')).code).toBe(2);
    expect((await funnelgate('outbox', 'replay', rows[0].id)).code).toBe(2);
    const replay = await funnelgate(
      'outbox',
      'replay',
      rows[0].id,
      '--reason',
      'stage mapping fixed',
      '--json',
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ id: rows[0].id, status: 'pending', attempts: 0 });
    const again = await funnelgate('outbox', 'replay', rows[0].id, '--reason', 'again');
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/only a dead letter/);
    const audit = await sql<{ actor: string; reason: string }>`
      select actor, reason from audit_log where action = 'outbox.replay' and subject_id = ${rows[0].id}`.execute(
      database.db,
    );
    expect(audit.rows).toEqual([{ actor: expect.stringMatching(/^cli/), reason: 'stage mapping fixed' }]);

    target.answer = () => ({ status: 200, body: { ok: true } });
    await runDeliveries(database.db, testSettings(target.url));
    expect((await outboxOf(database.db, deadDecision)).status).toBe('delivered');
    expect((await decisionOf(database.db, deadDecision)).status).toBe('executed');
  });
});
