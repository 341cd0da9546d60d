// The real HTTP server on a random port, against a test database, with tokens for each role.
import { loadConfig, type Config } from '../../src/config.ts';
import type { Role } from '../../src/auth/roles.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { createUser } from '../../src/auth/users.ts';
import { buildServer, type App } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/monitoring/metrics.ts';
import type { TestDatabase } from './database.ts';

export interface TestServer {
  app: App;
  url: string;
  config: Config;
  tokenFor(role: Role): Promise<string>;
  request(
    path: string,
    init?: RequestInit & { token?: string; json?: unknown },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestServer(
  database: TestDatabase,
  overrides: Partial<Config> = {},
): Promise<TestServer> {
  const config = loadConfig({
    overrides: { databaseUrl: database.url, port: 0, logLevel: 'silent', ...overrides },
  });
  const logger = createLogger(config);
  const app = await buildServer({
    config,
    db: database.db,
    logger,
    metrics: createMetrics({ defaultMetrics: false, db: database.db }),
    readiness: async () => ({ ready: true, checks: { database: { ok: true } } }),
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const tokens = new Map<Role, string>();
  return {
    app,
    url: address,
    config,
    async tokenFor(role) {
      const cached = tokens.get(role);
      if (cached) return cached;
      const user = await createUser(database.db, {
        email: `${role}-${Date.now()}-${Math.random()}@test.example`,
        name: role,
        roles: [role],
      });
      const { token } = await createToken(database.db, { user_id: user.id, name: 'test' });
      tokens.set(role, token);
      return token;
    },
    async request(path, init = {}) {
      const { token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      let body = rest.body;
      if (json !== undefined) {
        body = JSON.stringify(json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const response = await fetch(`${address}${path}`, { ...rest, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (e.g. /metrics)
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      await app.close();
    },
  };
}
