// Prometheus metrics. One registry per process (per test server), so tests do not share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  authFailures: Counter<'reason'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'funnelgate' });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'funnelgate_' });
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
