// Prometheus metrics. One registry per process (per test server), so tests do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { registerSnapshotGauges } from './metric-snapshots.ts';

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  authFailures: Counter<'reason'>;
}

export function createMetrics(options: { defaultMetrics?: boolean; db?: Db } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'funnelgate' });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'funnelgate_' });
  if (options.db) registerFreshnessGauges(registry, options.db);
  if (options.db) registerSnapshotGauges(registry, options.db);
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'funnelgate_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'funnelgate_auth_failures_total',
      help: 'Requests refused for missing or bad credentials (unauthenticated) or missing role (forbidden)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/**
 * Feature freshness, read from the database at scrape time so every API process reports the same truth:
 * how many contacts wait for a refresh, how long the oldest has waited, and the age of the newest values.
 */
function registerFreshnessGauges(registry: Registry, db: Db): void {
  const read = async () => {
    const row = await sql<{ backlog: string; waiting: number | null; age: number | null }>`
      select (select count(*) from dirty_contacts) as backlog,
             (select extract(epoch from now() - min(marked_at)) from dirty_contacts) as waiting,
             (select extract(epoch from now() - max(computed_at)) from feature_values) as age`.execute(db);
    const r = row.rows[0]!;
    return { backlog: Number(r.backlog), waiting: Number(r.waiting ?? 0), age: Number(r.age ?? 0) };
  };
  new Gauge({
    name: 'funnelgate_feature_refresh_backlog',
    help: 'Contacts with new events whose features and score are not refreshed yet',
    registers: [registry],
    async collect() {
      this.set((await read()).backlog);
    },
  });
  new Gauge({
    name: 'funnelgate_feature_staleness_seconds',
    help: 'How long the oldest contact with new events has waited for its features to be refreshed',
    registers: [registry],
    async collect() {
      this.set((await read()).waiting);
    },
  });
  new Gauge({
    name: 'funnelgate_feature_last_refresh_age_seconds',
    help: 'Seconds since feature values were last computed',
    registers: [registry],
    async collect() {
      this.set((await read()).age);
    },
  });
}
