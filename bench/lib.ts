// Shared pieces of the benchmarks: a fresh database per measurement, a realistic event stream, timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createDb, createPool, migrateToLatest, type Db } from '../src/db/database.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.ts';
import { ensureSource } from '../src/ingest/sources.ts';
import { createLogger } from '../src/logger.ts';

export const logger = createLogger({ logLevel: 'warn' });

export interface BenchServer {
  adminUrl: string;
  kind: string;
  stop(): Promise<void>;
}

/** DATABASE_URL when set, otherwise an embedded PostgreSQL in a temporary directory. */
export async function benchServer(): Promise<BenchServer> {
  const config = loadConfig({ defaults: { logLevel: 'warn' } });
  if (config.databaseUrl)
    return { adminUrl: config.databaseUrl, kind: 'DATABASE_URL server', stop: async () => undefined };
  const dir = mkdtempSync(path.join(process.getuid?.() === 0 ? '/var/tmp' : tmpdir(), 'funnelgate-bench-'));
  const embedded: EmbeddedDatabase = await startEmbeddedPostgres({
    dataDir: dir,
    logger,
    database: 'postgres',
  });
  return {
    adminUrl: embedded.url,
    kind: 'embedded PostgreSQL',
    async stop() {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchDatabase {
  url: string;
  db: Db;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export async function freshDatabase(server: BenchServer, label: string): Promise<BenchDatabase> {
  const name = `fg_bench_${label}_${Date.now()}`;
  await admin(server.adminUrl, `create database ${name}`);
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), 8);
  const db = createDb(pool);
  await migrateToLatest(db, pool, logger);
  await ensureSource(db, { name: 'bench' });
  return {
    url: url.toString(),
    db,
    pool,
    async drop() {
      await db.destroy();
      await admin(server.adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function admin(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const ACTIVITY = [
  'email.sent',
  'email.delivered',
  'email.opened',
  'email.clicked',
  'web.page_viewed',
  'email.replied',
  'meeting.booked',
];

/**
 * A stream shaped like real traffic: mostly activity on known contacts, a steady trickle of new contacts and
 * accounts (1 in 10 events is the first one of its contact), CRM updates now and then.
 */
export function benchEvents(count: number, prefix = 'b'): Record<string, unknown>[] {
  const contacts = Math.max(10, Math.floor(count / 10));
  const events: Record<string, unknown>[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i++) {
    const c = (i * 7919) % contacts;
    const company = c % Math.max(5, Math.floor(contacts / 8));
    const email = `person${c}@company${company}.com`;
    const time = new Date(start + i * 30_000).toISOString();
    let type = ACTIVITY[i % ACTIVITY.length]!;
    let data: Record<string, unknown> = { contact: { email } };
    if (i % 50 === 0) {
      type = 'crm.contact.updated';
      data = {
        contact: { email, crm_id: `C${c}` },
        account: { crm_id: `A${company}`, domain: `company${company}.com` },
        title: 'Director',
        seniority: 'director',
      };
    } else if (type === 'web.page_viewed') {
      data = { contact: { email }, url: `https://company.example/${i % 3 === 0 ? 'pricing' : 'blog'}` };
    }
    events.push({ specversion: '1.0', id: `${prefix}-${i}`, source: 'bench', type, time, data });
  }
  return events;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

export async function countEvents(db: Db): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
