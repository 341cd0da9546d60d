// The real CLI as a child process against this file's database: what scripts see (stdout, stderr, exit code).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const root = path.resolve(import.meta.dirname, '..');
const node = path.join(root, 'node_modules/.bin/node');
const bin = path.join(root, 'bin/funnelgate.js');

let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env?: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: root, timeout: 60_000, ...(env ? { env } : {}) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `funnelgate ...` with only the test database in its environment, so the developer's settings stay out. */
function funnelgate(...args: string[]): Promise<CliResult> {
  return run(node, [bin, ...args], { DATABASE_URL: database.url, NO_COLOR: '1' });
}

async function json(...args: string[]): Promise<any> {
  const result = await funnelgate(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('funnelgate token', () => {
  it('creates a user with a token that works against the API, and revokes it', async () => {
    const created = await json(
      'token',
      'create',
      '--user',
      'new@example.com',
      '--role',
      'reviewer',
      '--json',
    );
    expect(created.token).toMatch(/^fg_[A-Za-z0-9_-]{43}$/);
    expect(created.created_user).toBe(true);
    expect(created.roles).toEqual(['reviewer']);
    expect(created.display_prefix).toBe(created.token.slice(0, 10));

    const me = await server.request('/v1/me', { token: created.token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe('new@example.com');
    expect(me.body.token_roles).toEqual(['reviewer']);

    const listed = await json('token', 'list', '--user', 'new@example.com', '--json');
    expect(listed.map((t: { id: string }) => t.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.token);

    const revoked = await json('token', 'revoke', created.id, '--json');
    expect(revoked.revoked_at).not.toBeNull();
    expect((await server.request('/v1/me', { token: created.token })).status).toBe(401);
    expect(await json('token', 'list', '--user', 'new@example.com', '--json')).toEqual([]);
  });

  it('prints the token for people without --json', async () => {
    const result = await funnelgate('token', 'create', '--user', 'human@example.com', '--role', 'analyst');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Created user human@example.com');
    expect(result.stdout).toMatch(/^ {2}fg_\S{43}$/m);
    expect(result.stdout).toContain('not shown again');
  });

  it('exits 2 for an unknown role, listing the allowed ones', async () => {
    const result = await funnelgate('token', 'create', '--user', 'x@example.com', '--role', 'superuser');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('superuser');
    expect(result.stderr).toContain('reviewer');
    const users = await json('user', 'list', '--json');
    expect(users.map((u: { email: string }) => u.email)).not.toContain('x@example.com');
  });

  it('exits 5 for an unknown user, with a JSON error on stderr under --json', async () => {
    const missing = randomUUID();
    const result = await funnelgate('token', 'list', '--user', missing);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(missing);

    const asJson = await funnelgate('token', 'list', '--user', missing, '--json');
    expect(asJson.code).toBe(5);
    expect(asJson.stdout).toBe('');
    expect(JSON.parse(asJson.stderr).error.code).toBe('not_found');
  });
});

describe('funnelgate user', () => {
  it('creates, lists and updates users', async () => {
    const created = await json(
      'user',
      'create',
      '--email',
      'Pat@Example.com',
      '--name',
      'Pat',
      '--role',
      'reviewer',
      '--timezone',
      'Europe/Berlin',
      '--json',
    );
    expect(created).toMatchObject({
      email: 'pat@example.com',
      name: 'Pat',
      roles: ['reviewer'],
      timezone: 'Europe/Berlin',
      active: true,
    });

    const listed = await json('user', 'list', '--json');
    expect(listed.find((u: { id: string }) => u.id === created.id)?.email).toBe('pat@example.com');
    const analysts = await json('user', 'list', '--role', 'analyst', '--json');
    expect(analysts.map((u: { id: string }) => u.id)).not.toContain(created.id);

    const updated = await json('user', 'update', 'pat@example.com', '--add-role', 'analyst', '--json');
    expect(updated.id).toBe(created.id);
    expect(updated.roles).toEqual(['reviewer', 'analyst']);
    const nowAnalysts = await json('user', 'list', '--role', 'analyst', '--json');
    expect(nowAnalysts.map((u: { id: string }) => u.id)).toContain(created.id);
  });

  it('exits 6 when the email is taken', async () => {
    await json('user', 'create', '--email', 'twice@example.com', '--role', 'rep', '--json');
    const again = await funnelgate('user', 'create', '--email', 'twice@example.com', '--role', 'rep');
    expect(again.code).toBe(6);
    expect(again.stderr).toContain('already exists');
  });
});

describe('funnelgate migrate and help', () => {
  it('reports the schema up to date', async () => {
    const status = await json('migrate', '--json');
    expect(status.pending).toEqual([]);
    expect(status.applied).toContain('0001_foundation');
  });

  it('prints help and exits 0', async () => {
    const result = await funnelgate('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: funnelgate');
    for (const command of ['start', 'worker', 'migrate', 'token', 'user']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('exits 2 for an unknown command', async () => {
    const result = await funnelgate('frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('frobnicate');
  });

  it('runs as `npx funnelgate` from the repository root', async () => {
    // --yes=false: never fetch a package of that name from the registry; the project's own bin must be found.
    const result = await run('npx', ['--yes=false', 'funnelgate', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: funnelgate');
  });
});
