// One delivery run in a process of its own, for the kill test: opens the database named by DATABASE_URL, runs
// the delivery loop with the settings from the environment, prints the summary, and exits.
import { loadConfig } from '../../src/config.ts';
import { createDb, createPool } from '../../src/db/database.ts';
import { runDeliveries } from '../../src/execution/deliver.ts';
import { executionSettings } from '../../src/execution/settings.ts';

const config = loadConfig({ defaults: { logLevel: 'warn' } });
if (!config.databaseUrl) throw new Error('DATABASE_URL is required');
const lanes = Number.parseInt(process.argv[2] ?? '2', 10);
const pool = createPool(config.databaseUrl, lanes + 2);
const db = createDb(pool);
try {
  const summary = await runDeliveries(db, executionSettings(config), { lanes });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  await db.destroy();
}
