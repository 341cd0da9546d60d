// transactionWithConnection: statements through Kysely and COPY through the raw connection share one
// transaction, which commits whole or rolls back whole, and the connection always goes back to the pool.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTogether, transactionWithConnection } from '../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await sql`create table scratch (n integer primary key, label text)`.execute(database.db);
});
afterAll(async () => database?.drop());

async function labels(): Promise<string[]> {
  const rows = await sql<{ label: string }>`select label from scratch order by n`.execute(database.db);
  return rows.rows.map((r) => r.label);
}

async function copyRows(client: pg.PoolClient, text: string): Promise<void> {
  await pipeline(Readable.from([text]), client.query(copyFrom('copy scratch (n, label) from stdin')));
}

describe('transactionWithConnection', () => {
  it('commits statements and COPY together', async () => {
    await transactionWithConnection(database.db, async (trx, client) => {
      expect(client).not.toBeNull();
      await sql`insert into scratch values (1, 'statement')`.execute(trx);
      await copyRows(client!, '2\tcopied\n3\tcopied too\n');
    });
    expect(await labels()).toEqual(['statement', 'copied', 'copied too']);
  });

  it('rolls both back when anything fails, and returns the connection to the pool', async () => {
    const connectionsBefore = database.pool.totalCount;
    await expect(
      transactionWithConnection(database.db, async (trx, client) => {
        await sql`insert into scratch values (4, 'lost')`.execute(trx);
        await copyRows(client!, '5\tlost\n1\tduplicate key\n');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await labels()).toEqual(['statement', 'copied', 'copied too']);
    // The same connection works for the next transaction (it was rolled back, not left aborted).
    await transactionWithConnection(database.db, async (trx) => {
      await sql`insert into scratch values (6, 'after')`.execute(trx);
    });
    expect(await labels()).toEqual(['statement', 'copied', 'copied too', 'after']);
    expect(database.pool.totalCount).toBeLessThanOrEqual(Math.max(connectionsBefore, 1) + 1);
    expect(database.pool.waitingCount).toBe(0);
    // Nothing is left checked out: every connection the transactions took is idle in the pool again.
    expect(database.pool.idleCount).toBe(database.pool.totalCount);
  });
});

describe('executeTogether', () => {
  beforeAll(async () => {
    await sql`create table parent (id integer primary key)`.execute(database.db);
    await sql`create table child (id integer primary key, parent_id integer not null references parent (id))`.execute(
      database.db,
    );
  });
  const count = async (table: 'parent' | 'child') =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!
        .n,
    );

  it('runs nothing, one statement, or several as one: a row and the rows referencing it may go together', async () => {
    await executeTogether(database.db, []);
    await executeTogether(database.db, [sql`insert into parent values (1)`]);
    // The child is listed first: foreign keys are checked at the end of the whole statement.
    await executeTogether(database.db, [
      sql`insert into child values (20, 2)`,
      sql`insert into parent values (2)`,
      sql`insert into child values (10, 1)`,
    ]);
    expect(await count('parent')).toBe(2);
    expect(await count('child')).toBe(2);
  });

  it('applies none of them when one fails', async () => {
    await expect(
      executeTogether(database.db, [
        sql`insert into parent values (3)`,
        sql`insert into child values (30, 99)`,
      ]),
    ).rejects.toMatchObject({ code: '23503' });
    expect(await count('parent')).toBe(2);
    expect(await count('child')).toBe(2);
  });
});
