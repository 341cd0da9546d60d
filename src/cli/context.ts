import { loadConfig, type Config } from '../config.ts';
import { openDatabase, type DatabaseHandle } from '../db/connect.ts';
import { migrateToLatest } from '../db/database.ts';
import { createLogger, type Logger } from '../logger.ts';

export interface CommandContext {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
}

/** Opens the database (embedded or DATABASE_URL), brings the schema up to date, runs `fn`, and closes. */
export async function withDatabase<T>(
  fn: (context: CommandContext) => Promise<T>,
  overrides: Partial<Config> = {},
  options: { migrate?: boolean } = {},
): Promise<T> {
  // Commands print their own results; logs stay quiet unless LOG_LEVEL asks for more.
  const config = loadConfig({ overrides, defaults: { logLevel: 'warn' } });
  const logger = createLogger(config);
  const database = await openDatabase(config, logger);
  try {
    if (options.migrate ?? true) await migrateToLatest(database.db, database.pool, logger);
    return await fn({ config, logger, database });
  } finally {
    await database.close();
  }
}
