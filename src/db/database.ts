import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import { Migrator, type MigrationResult } from 'kysely/migration';
import pg from 'pg';
import { Logger as GraphileLogger, runMigrations as runWorkerMigrations } from 'graphile-worker';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

// bigint (int8) stays a string in JS to keep its precision; numeric likewise. Dates are Date objects.
export function createPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'funnelgate' });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** The pool behind each Kysely instance made here, for work Kysely cannot express (COPY). */
const poolOf = new WeakMap<Db, pg.Pool>();

export function createDb(pool: pg.Pool): Db {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  poolOf.set(db, pool);
  return db;
}

/** One Kysely per pooled connection (pg reuses its client objects), so statements and COPY share a transaction. */
const onConnection = new WeakMap<pg.PoolClient, Db>();

function kyselyOn(client: pg.PoolClient): Db {
  let db = onConnection.get(client);
  if (!db) {
    const connection = { query: client.query.bind(client), release: () => undefined };
    db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: { connect: async () => connection, end: async () => undefined } as never,
      }),
    });
    onConnection.set(client, db);
  }
  return db;
}

/**
 * Runs `fn` in one transaction, giving it the raw connection as well as Kysely, for COPY. A Kysely instance
 * not made by createDb (no pool known) runs `fn` in an ordinary Kysely transaction, with no raw connection.
 */
export async function transactionWithConnection<T>(
  db: Db,
  fn: (trx: Db, client: pg.PoolClient | null) => Promise<T>,
): Promise<T> {
  const pool = poolOf.get(db);
  if (!pool) return db.transaction().execute((trx) => fn(trx, null));
  const client = await pool.connect();
  try {
    await client.query('begin');
  } catch (error) {
    client.release(error as Error); // the connection is unusable; the pool must not hand it out again
    throw error;
  }
  let broken: Error | undefined;
  try {
    const result = await fn(kyselyOn(client), client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs several statements as one (each a data-modifying WITH query of a `select 1`): one round trip instead of
 * several, which on these machines costs more than a small statement's work. They share one snapshot and do not
 * see each other's writes, except that foreign keys are checked at the end of the whole statement, so a row and
 * the rows referencing it may be inserted together. None of them may have a WITH of its own.
 */
export async function executeTogether(db: Db, statements: RawBuilder<unknown>[]): Promise<void> {
  if (statements.length === 0) return;
  if (statements.length === 1) {
    await statements[0]!.execute(db);
    return;
  }
  const parts = statements.map((statement, i) => sql`${sql.raw(`s${i}`)} as (${statement})`);
  await sql`with ${sql.join(parts)} select 1`.execute(db);
}

function migrator(db: Db): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'funnelgate_migrations',
    migrationLockTableName: 'funnelgate_migrations_lock',
  });
}

/** Applies our migrations and graphile-worker's. Safe to run from several processes at once (advisory lock). */
export async function migrateToLatest(db: Db, pool: pg.Pool, logger: Logger): Promise<MigrationResult[]> {
  const { error, results } = await migrator(db).migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') logger.info({ migration: result.migrationName }, 'migration applied');
    if (result.status === 'Error') logger.error({ migration: result.migrationName }, 'migration failed');
  }
  if (error) {
    throw new AppError(
      'unavailable',
      `Database migration failed: ${String((error as Error).message ?? error)}`,
      {
        migration: results?.find((r) => r.status === 'Error')?.migrationName,
      },
    );
  }
  await runWorkerMigrations({ pgPool: pool, logger: workerLogger(logger) });
  return results ?? [];
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const all = await migrator(db).getMigrations();
  return {
    applied: all.filter((m) => m.executedAt).map((m) => m.name),
    pending: all.filter((m) => !m.executedAt).map((m) => m.name),
  };
}

/** graphile-worker's logger, forwarded into pino so there is one log stream. */
export function workerLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const child = logger.child({
      component: 'worker',
      ...(scope.taskIdentifier ? { task: scope.taskIdentifier } : {}),
    });
    const payload = meta ? { meta } : {};
    switch (level) {
      case 'error':
        child.error(payload, message);
        break;
      case 'warning':
        child.warn(payload, message);
        break;
      case 'info':
        child.info(payload, message);
        break;
      default:
        child.debug(payload, message);
    }
  });
}
