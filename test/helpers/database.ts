// A database of this test file's own, cloned from the migrated template.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.ts';
import { withDatabaseName } from './urls.ts';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const template = inject('templateDatabase');
  const parentPid = template.split('_')[2];
  const name = `fg_test_${parentPid}_${randomBytes(5).toString('hex')}`;
  await admin(adminUrl, `create database ${name} template ${template}`);
  const url = withDatabaseName(adminUrl, name);
  const pool = createPool(url, 5);
  const db = createDb(pool);
  return {
    name,
    url,
    pool,
    db,
    async drop() {
      await db.destroy();
      await admin(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function admin(url: string, text: string): Promise<void> {
  // Cloning takes a lock on the template; files starting at once retry instead of failing.
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(text);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    } finally {
      await client.end();
    }
  }
}
