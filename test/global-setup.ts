// One migrated template database per test run; every test file clones its own database from it
// (`create database ... template ...`), so files run in parallel and leave nothing behind.
// DATABASE_URL set: use that server. Unset: start an embedded PostgreSQL in a temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config.ts';
import { createDb, createPool, migrateToLatest } from '../src/db/database.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.ts';
import { createLogger } from '../src/logger.ts';
import { withDatabaseName } from './helpers/urls.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  const config = loadConfig({ defaults: { logLevel: 'warn' } });
  const logger = createLogger({ logLevel: 'warn' });
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (config.databaseUrl) {
    adminUrl = config.databaseUrl;
  } else {
    dataDir = mkdtempSync(path.join(process.getuid?.() === 0 ? '/var/tmp' : tmpdir(), 'funnelgate-test-'));
    embedded = await startEmbeddedPostgres({ dataDir, logger, database: 'postgres' });
    adminUrl = embedded.url;
  }
  const templateDatabase = `fg_template_${process.pid}_${Date.now()}`;
  await adminQuery(adminUrl, `create database ${templateDatabase}`);
  const pool = createPool(withDatabaseName(adminUrl, templateDatabase), 2);
  const db = createDb(pool);
  await migrateToLatest(db, pool, logger);
  await db.destroy();

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    await adminQuery(adminUrl, `drop database if exists ${templateDatabase} with (force)`);
    const leftovers = await adminQuery(
      adminUrl,
      `select datname from pg_database where datname like 'fg_test_${process.pid}_%'`,
    );
    for (const row of leftovers.rows as { datname: string }[]) {
      await adminQuery(adminUrl, `drop database if exists ${row.datname} with (force)`);
    }
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

async function adminQuery(url: string, text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}
