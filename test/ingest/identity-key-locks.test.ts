// lock_and_read_identity_keys (migration 0011): one call finds which of a chunk's identity keys are absent,
// locks exactly those exclusively (so only this transaction can create their entities), and reads every key,
// under the identity-merge lock held in shared mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
const CONTACT = '11111111-1111-4111-8111-111111111111';

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`insert into contacts (id) values ($1)`, [CONTACT]);
  await database.pool.query(
    `insert into identity_keys (kind, key, entity_id) values ('contact', 'email:known@acme.com', $1)`,
    [CONTACT],
  );
});
afterAll(async () => database?.drop());

/** Whether another session could take the key's exclusive lock right now. */
async function lockFree(name: string): Promise<boolean> {
  const other = await database.pool.connect();
  try {
    await other.query('begin');
    const result = await other.query<{ got: boolean }>(
      `select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as got`,
      [name],
    );
    await other.query('rollback');
    return result.rows[0]!.got;
  } finally {
    other.release();
  }
}

describe('lock_and_read_identity_keys', () => {
  it('reads the existing keys, and locks exactly the absent ones until the transaction ends', async () => {
    const client = await database.pool.connect();
    try {
      await client.query('begin');
      const result = await client.query<{ read: string }>(
        `select lock_and_read_identity_keys($1::text[], $2::text[], false) as read`,
        [
          ['contact', 'contact'],
          ['email:known@acme.com', 'email:new@acme.com'],
        ],
      );
      const read = JSON.parse(result.rows[0]!.read) as { generation: string; keys: Record<string, string> };
      expect(read.keys).toEqual({ 'contact:email:known@acme.com': CONTACT });
      expect(read.generation).toMatch(/^\d+$/);
      expect(await lockFree('contact:email:new@acme.com')).toBe(false);
      expect(await lockFree('contact:email:known@acme.com')).toBe(true);
      // The merge lock is held shared: a merge (exclusive) cannot start meanwhile.
      expect(await lockFree('funnelgate:identity-merges')).toBe(false);
      await client.query('commit');
      expect(await lockFree('contact:email:new@acme.com')).toBe(true);
    } finally {
      client.release();
    }
  });
});
