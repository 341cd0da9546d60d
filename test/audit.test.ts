import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../src/audit/audit-log.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('audit trail', () => {
  it('records admin actions through the API with actor, before and after', async () => {
    const admin = await server.tokenFor('admin');
    const user = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'aud@example.com', name: 'Aud', roles: ['reviewer'] },
    });
    await server.request(`/v1/users/${user.body.id}`, {
      method: 'PATCH',
      token: admin,
      json: { capacity: 7 },
    });
    const token = await server.request('/v1/tokens', {
      method: 'POST',
      token: admin,
      json: { user_id: user.body.id },
    });
    await server.request(`/v1/tokens/${token.body.id}`, { method: 'DELETE', token: admin });
    const trail = await server.request(`/v1/audit?limit=10`, { token: await server.tokenFor('analyst') });
    expect(trail.body.items.map((e: any) => e.action).slice(0, 4)).toEqual([
      'token.revoke',
      'token.create',
      'user.update',
      'user.create',
    ]);
    const update = trail.body.items.find((e: any) => e.action === 'user.update');
    expect(update.before.capacity).toBe(50);
    expect(update.after.capacity).toBe(7);
    expect(update.actor).toMatch(/^admin-/);
    expect(JSON.stringify(trail.body)).not.toContain(token.body.token);
  });

  it('verifies an intact chain and names the first entry changed behind its back', async () => {
    for (let i = 0; i < 5; i++) {
      await appendAudit(database.db, {
        actor: 'tester',
        action: 'test.entry',
        subjectType: 'test',
        subjectId: String(i),
        after: { n: i, nested: { b: 1, a: [1, 2] } },
      });
    }
    const intact = await server.request('/v1/audit/verify', {
      method: 'POST',
      token: await server.tokenFor('analyst'),
    });
    expect(intact.body.ok).toBe(true);
    expect(intact.body.checked).toBeGreaterThanOrEqual(5);

    const victim = await database.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'test.entry')
      .where('subject_id', '=', '2')
      .executeTakeFirstOrThrow();
    await expect(
      sql`update audit_log set reason = 'quietly' where id = ${victim.id}`.execute(database.db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where id = ${victim.id}`.execute(database.db)).rejects.toThrow(
      /append-only/,
    );
    // Someone with superuser rights switches the guard off and edits a row: the chain still tells.
    await sql`alter table audit_log disable trigger audit_log_no_change`.execute(database.db);
    await sql`update audit_log set after = '{"n": 99}'::jsonb where id = ${victim.id}`.execute(database.db);
    await sql`alter table audit_log enable trigger audit_log_no_change`.execute(database.db);
    const broken = await verifyAuditChain(database.db);
    expect(broken.ok).toBe(false);
    expect(broken.first_broken?.id).toBe(victim.id);
    expect(broken.first_broken?.reason).toMatch(/changed/);
  });
});
