// The field writer locks the rows it updates in the order of their ids. Transactions that update overlapping
// sets of accounts (concurrent ingest of CRM records about the same companies) otherwise lock them in whatever
// order the scan finds them, deadlock, and wait for PostgreSQL's deadlock timeout before one retries: with four
// bulk clients that made ingestion several times slower.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createFieldWriter, fieldStamp } from '../../src/ingest/field-writer.ts';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});
afterAll(async () => database?.drop());

// Inserted in this order, so a scan of the table finds HIGH before LOW, the reverse of their ids' order.
const HIGH = 'ffffffff-0000-4000-8000-000000000001';
const LOW = '00000000-0000-4000-8000-000000000002';

describe('field writer row locks', () => {
  it('takes row locks in id order, so a transaction holding the lower id cannot deadlock with it', async () => {
    await sql`insert into accounts (id, name) values (${HIGH}::uuid, 'High'), (${LOW}::uuid, 'Low')`.execute(
      db,
    );
    // Another transaction holds LOW, and will want HIGH next.
    const other = await database.pool.connect();
    try {
      await other.query('begin');
      await other.query('select id from accounts where id = $1 for no key update', [LOW]);
      // The writer updates both: it must wait for LOW before it holds anything, not hold HIGH and wait for LOW.
      const writing = db.transaction().execute(async (trx) => {
        const writer = createFieldWriter();
        const stamp = fieldStamp('2026-03-01T00:00:00.000Z', 'e1');
        writer.set('accounts', HIGH, { industry: 'Software' }, stamp);
        writer.set('accounts', LOW, { industry: 'Software' }, stamp);
        await writer.flush(trx);
      });
      const outcome = writing.then(
        () => 'committed',
        (error: unknown) => `failed: ${(error as Error).message}`,
      );
      // Until the writer is waiting for a lock (asked outside the other transaction, whose view of
      // pg_stat_activity stays as it first read it).
      let writerWaits = false;
      for (let waited = 0; waited < 5000 && !writerWaits; waited += 20) {
        const waiting = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
        writerWaits = waiting.rows[0]!.n > 0;
        if (!writerWaits) await new Promise((r) => setTimeout(r, 20));
      }
      // Otherwise the step below would not be testing anything.
      expect(writerWaits).toBe(true);
      // With the writer holding HIGH, this would be a deadlock (one of the two would fail after the timeout).
      await other.query(`set local lock_timeout = '3s'`);
      await other.query('select id from accounts where id = $1 for no key update', [HIGH]);
      await other.query('commit');
      expect(await outcome).toBe('committed');
    } finally {
      other.release();
    }
    const rows = await sql<{ industry: string }>`select industry from accounts order by id`.execute(db);
    expect(rows.rows.map((r) => r.industry)).toEqual(['Software', 'Software']);
  });
});
