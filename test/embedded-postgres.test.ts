// The zero-setup database: initialised once in its data directory, reused across restarts, and shared with a
// second process (a CLI command next to a running server) without that process stopping it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.ts';
import { createLogger } from '../src/logger.ts';

const execFileAsync = promisify(execFile);
const logger = createLogger({ logLevel: 'silent' });
const embeddedModule = path.resolve('src/db/embedded.ts');

// As root the server runs as the postgres user, which must be able to pass through the directory; /tmp on
// some systems is fine too, but /var/tmp is world-traversable everywhere.
const dataDir = mkdtempSync(path.join(process.getuid?.() === 0 ? '/var/tmp' : tmpdir(), 'fg-embedded-'));
const started: EmbeddedDatabase[] = [];

afterAll(async () => {
  for (const server of started.reverse()) await server.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<EmbeddedDatabase> {
  const server = await startEmbeddedPostgres({ dataDir, logger });
  started.push(server);
  return server;
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** startEmbeddedPostgres in another process, as `funnelgate token create` would call it next to a server. */
async function startAndStopInAnotherProcess(): Promise<{ port: number; url: string }> {
  const script = `
    import { startEmbeddedPostgres } from ${JSON.stringify(embeddedModule)};
    import { createLogger } from ${JSON.stringify(path.resolve('src/logger.ts'))};
    const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, logger: createLogger({ logLevel: 'silent' }) });
    await db.stop();
    process.stdout.write(JSON.stringify({ port: db.port, url: db.url }));
  `;
  const { stdout } = await execFileAsync(
    path.resolve('node_modules/.bin/node'),
    ['--input-type=module', '-e', script],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout) as { port: number; url: string };
}

describe('embedded PostgreSQL', () => {
  it('keeps its data across a clean stop and restart, and is shared with another process', async () => {
    const clusterDir = path.join(dataDir, 'postgres');

    const first = await start();
    expect(first.url).toMatch(/^postgres:\/\/funnelgate:[^@]+@127\.0\.0\.1:\d+\/funnelgate$/);
    await query(first.url, `create table kept (id integer primary key, note text not null)`);
    await query(first.url, `insert into kept values (1, 'survives a restart')`);

    // A second start while it runs attaches to it: same port, and its stop() leaves the server running;
    // both from this process and from another one (a CLI command next to `funnelgate start`).
    const attached = await start();
    expect(attached.port).toBe(first.port);
    expect(await query(attached.url, 'select note from kept')).toEqual([{ note: 'survives a restart' }]);
    await attached.stop();
    expect(await query(first.url, 'select note from kept')).toEqual([{ note: 'survives a restart' }]);

    const other = await startAndStopInAnotherProcess();
    expect(other.port).toBe(first.port);
    expect(await query(first.url, 'select note from kept')).toEqual([{ note: 'survives a restart' }]);

    await first.stop();
    expect(existsSync(path.join(clusterDir, 'postmaster.pid'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'embedded-postgres.owner'))).toBe(false);
    await expect(query(first.url, 'select 1')).rejects.toThrow();

    const second = await start();
    expect(await query(second.url, 'select id, note from kept')).toEqual([
      { id: 1, note: 'survives a restart' },
    ]);
    // A clean stop needs no crash recovery on the next start.
    const log = readFileSync(path.join(clusterDir, 'server.log'), 'utf8');
    expect(log).not.toMatch(/not properly shut down|automatic recovery in progress/);
    await second.stop();
  });
});
