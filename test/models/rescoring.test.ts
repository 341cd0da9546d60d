// New events -> features and score refreshed by the worker within seconds, visible through the API.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSource } from '../../src/ingest/sources.ts';
import { startWorker, type WorkerHandle } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let database: TestDatabase;
let server: TestServer;
let worker: WorkerHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  worker = await startWorker({
    db: database.db,
    pool: database.pool,
    logger: createLogger({ logLevel: 'silent' }),
    concurrency: 2,
    pollIntervalMs: 200,
  });
  await ensureSource(database.db, { name: 'web' });
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
  await database?.drop();
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('rescores a contact seconds after its events arrive, and serves features and score over the API', async () => {
  const ingest = await server.tokenFor('ingest');
  const analyst = await server.tokenFor('analyst');
  const now = Date.now();
  const event = (i: number, type: string, data: unknown) => ({
    specversion: '1.0',
    id: `r-${i}`,
    source: 'web',
    type,
    time: new Date(now - (10 - i) * 3_600_000).toISOString(),
    data,
  });
  const posted = await server.request('/v1/events', {
    method: 'POST',
    token: ingest,
    json: [
      event(1, 'crm.contact.created', { contact: { email: 'hot@lead.com' }, seniority: 'vp' }),
      event(2, 'web.page_viewed', { contact: { email: 'hot@lead.com' }, url: '/pricing' }),
      event(3, 'web.page_viewed', { contact: { email: 'hot@lead.com' }, url: '/pricing' }),
    ],
  });
  const stored = await server.request(`/v1/events/${posted.body.results[0].event_id}`, { token: analyst });
  const contactId = stored.body.contact_id;
  const first = await until(async () => {
    const r = await server.request(`/v1/scores/contacts/${contactId}`, { token: analyst });
    return r.status === 200 ? r.body.items[0] : undefined;
  });
  expect(first).toMatchObject({ is_prior: true, alias: 'champion' });
  expect(first.factors.for.map((f: any) => f.phrase)).toContain('visited pricing 2 times in 14 days');

  // One more pricing view: the score moves up within seconds.
  await server.request('/v1/events', {
    method: 'POST',
    token: ingest,
    json: [event(4, 'web.page_viewed', { contact: { email: 'hot@lead.com' }, url: '/pricing' })],
  });
  const second = await until(async () => {
    const r = await server.request(`/v1/scores/contacts/${contactId}`, { token: analyst });
    return r.body.items[0].feature_snapshot.pricing_views_14d === 3 ? r.body.items[0] : undefined;
  });
  expect(second.probability).toBeGreaterThan(first.probability);
  const features = await server.request(`/v1/features/contact/${contactId}`, { token: analyst });
  expect(features.body.items[0]).toMatchObject({ feature_set: 'lead_scoring', feature_set_version: 2 });
  expect(features.body.items[0].values.pricing_views_14d).toBe(3);
  const ranked = await server.request('/v1/scores?limit=5', { token: analyst });
  expect(ranked.body.items[0].email).toBe('hot@lead.com');
});
