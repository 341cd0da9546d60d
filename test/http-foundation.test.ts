import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database, { bodyLimitBytes: 4096 });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('health', () => {
  it('answers /healthz and /readyz without a token', async () => {
    expect((await server.request('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await server.request('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
  });
});

describe('authentication and roles', () => {
  it('refuses a request without a token with 401 in the error format', async () => {
    const response = await server.request('/v1/users');
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
    expect(response.body.error.message).toMatch(/Bearer/);
  });

  it('refuses an unknown token', async () => {
    const response = await server.request('/v1/me', { token: 'fg_not-a-real-token' });
    expect(response.status).toBe(401);
  });

  it('keeps a reviewer out of admin routes with 403', async () => {
    const reviewer = await server.tokenFor('reviewer');
    const response = await server.request('/v1/tokens', { token: reviewer });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect(response.body.error.details.required).toBe('admin');
  });

  it('lets an analyst read but not write', async () => {
    const analyst = await server.tokenFor('analyst');
    expect((await server.request('/v1/users', { token: analyst })).status).toBe(200);
    const write = await server.request('/v1/users', {
      method: 'POST',
      token: analyst,
      json: { email: 'x@example.com', name: 'X', roles: ['reviewer'] },
    });
    expect(write.status).toBe(403);
  });

  it('protects /metrics and /openapi.json', async () => {
    expect((await server.request('/metrics')).status).toBe(401);
    const analyst = await server.tokenFor('analyst');
    const metrics = await server.request('/metrics', { token: analyst });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('funnelgate_http_request_duration_seconds');
    expect(metrics.body).toMatch(/funnelgate_feature_refresh_backlog\{app="funnelgate"\} 0/);
    const openapi = await server.request('/openapi.json', { token: analyst });
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.body.paths)).toContain('/v1/users');
  });
});

describe('errors', () => {
  it('names the bad field in a 400', async () => {
    const admin = await server.tokenFor('admin');
    const response = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'not-an-email', name: 'Someone', roles: ['reviewer'] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.details.fields).toEqual([
      { field: 'body.email', message: 'must be an email address' },
    ]);
  });

  it('rejects an unknown role with the allowed values', async () => {
    const admin = await server.tokenFor('admin');
    const response = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'a@example.com', name: 'A', roles: ['superuser'] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.fields[0].field).toBe('body.roles.0');
    expect(response.body.error.message).toMatch(/admin/);
  });

  it('says when the body is not JSON', async () => {
    const admin = await server.tokenFor('admin');
    const response = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      headers: { 'content-type': 'application/json' },
      body: '{"email": ',
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('bad_request');
  });

  it('limits the request size with 413', async () => {
    const admin = await server.tokenFor('admin');
    const response = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'big@example.com', name: 'x'.repeat(10_000), roles: ['reviewer'] },
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('answers unknown routes with 404 in the error format', async () => {
    const admin = await server.tokenFor('admin');
    const response = await server.request('/v1/nothing-here', { token: admin });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });
});

describe('users and tokens through the API', () => {
  it('creates a user and a token, uses it, and revokes it', async () => {
    const admin = await server.tokenFor('admin');
    const created = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: {
        email: 'Rev.One@Example.com',
        name: 'Rev One',
        roles: ['reviewer'],
        timezone: 'Europe/Berlin',
        skills: ['enterprise'],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.email).toBe('rev.one@example.com');

    const duplicate = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'rev.one@example.com', name: 'Again', roles: ['reviewer'] },
    });
    expect(duplicate.status).toBe(409);

    const tooMuch = await server.request('/v1/tokens', {
      method: 'POST',
      token: admin,
      json: { user_id: created.body.id, roles: ['admin'] },
    });
    expect(tooMuch.status).toBe(403);

    const token = await server.request('/v1/tokens', {
      method: 'POST',
      token: admin,
      json: { user_id: created.body.id, name: 'laptop' },
    });
    expect(token.status).toBe(201);
    expect(token.body.token).toMatch(/^fg_/);
    const me = await server.request('/v1/me', { token: token.body.token });
    expect(me.body.user.email).toBe('rev.one@example.com');

    const listed = await server.request(`/v1/tokens?user_id=${created.body.id}`, { token: admin });
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].last_used_at).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(token.body.token);

    const revoked = await server.request(`/v1/tokens/${token.body.id}`, { method: 'DELETE', token: admin });
    expect(revoked.body.revoked_at).not.toBeNull();
    expect((await server.request('/v1/me', { token: token.body.token })).status).toBe(401);
  });

  it('stops accepting an expired token', async () => {
    const admin = await server.tokenFor('admin');
    const user = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'short@example.com', name: 'Short', roles: ['analyst'] },
    });
    const token = await server.request('/v1/tokens', {
      method: 'POST',
      token: admin,
      json: { user_id: user.body.id, expires_at: new Date(Date.now() + 1500).toISOString() },
    });
    expect((await server.request('/v1/me', { token: token.body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await server.request('/v1/me', { token: token.body.token })).status).toBe(401);
  });

  it('drops a role from tokens when the user loses it, and deactivation stops all tokens', async () => {
    const admin = await server.tokenFor('admin');
    const user = await server.request('/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'two-hats@example.com', name: 'Two Hats', roles: ['reviewer', 'analyst'] },
    });
    const token = await server.request('/v1/tokens', {
      method: 'POST',
      token: admin,
      json: { user_id: user.body.id },
    });
    expect((await server.request('/v1/me', { token: token.body.token })).body.token_roles).toEqual([
      'reviewer',
      'analyst',
    ]);
    await server.request(`/v1/users/${user.body.id}`, {
      method: 'PATCH',
      token: admin,
      json: { roles: ['analyst'] },
    });
    expect((await server.request('/v1/me', { token: token.body.token })).body.token_roles).toEqual([
      'analyst',
    ]);
    await server.request(`/v1/users/${user.body.id}`, {
      method: 'PATCH',
      token: admin,
      json: { active: false },
    });
    expect((await server.request('/v1/me', { token: token.body.token })).status).toBe(401);
  });
});
