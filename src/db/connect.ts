// Chooses the database: DATABASE_URL when set, otherwise the embedded server in the data directory.
import type { Config } from '../config.ts';
import { describeDatabaseUrl } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createDb, createPool, type Db } from './database.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import type pg from 'pg';

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger): Promise<DatabaseHandle> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, logger });
  const url = config.databaseUrl ?? embedded!.url;
  logger.info({ database: describeDatabaseUrl(url), embedded: Boolean(embedded) }, 'using database');
  const pool = createPool(url, config.databasePoolSize);
  const db = createDb(pool);
  let closed = false;
  return {
    db,
    pool,
    url,
    embedded: Boolean(embedded),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await embedded?.stop();
    },
  };
}
