import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestReportSchema } from '../../src/http/routes/events.routes.ts';
import { ensureSource, rotateWebhookSecret } from '../../src/ingest/sources.ts';
import { signWebhook } from '../../src/ingest/webhook-signature.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { cloudEvent } from '../helpers/events.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let database: TestDatabase;
let server: TestServer;
let ingest: string;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database, { maxBatchEvents: 50 });
  ingest = await server.tokenFor('ingest');
  await ensureSource(database.db, { name: 'test-crm' });
  await ensureSource(database.db, { name: 'berlin-crm', timezone: 'Europe/Berlin' });
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

function post(body: unknown, contentType = 'application/cloudevents-batch+json', token = ingest) {
  return server.request('/v1/events', {
    method: 'POST',
    token,
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

describe('POST /v1/events', () => {
  it('accepts one structured event, then reports the same one as a duplicate', async () => {
    const event = cloudEvent('email.opened', { contact: { email: ' Ann@Acme.COM ' } });
    const first = await post(event, 'application/cloudevents+json');
    expect(first.status).toBe(200);
    expect(first.body.results[0]).toMatchObject({ status: 'accepted', type_known: true });
    const again = await post(event, 'application/cloudevents+json');
    expect(again.body.results[0]).toMatchObject({
      status: 'duplicate',
      event_id: first.body.results[0].event_id,
    });
    const stored = await server.request(`/v1/events/${first.body.results[0].event_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(stored.body.contact_id).not.toBeNull();
    expect(stored.body.account_id).not.toBeNull();
    const contact = await server.request(`/v1/contacts/${stored.body.contact_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(contact.body.email).toBe('ann@acme.com');
    expect(contact.body.identity_keys).toContain('email:ann@acme.com');
    const account = await server.request(`/v1/accounts/${stored.body.account_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(account.body.domain).toBe('acme.com');
  });

  it('gives a result per event in a mixed batch and counts them on the batch', async () => {
    const batch = [
      cloudEvent('web.page_viewed', {
        contact: { email: 'bob@globex.io' },
        url: 'https://globex.io/pricing',
      }),
      cloudEvent('email.replied', { contact: {}, extra: 1 }),
      cloudEvent(
        'email.clicked',
        { contact: { email: 'bob@globex.io' } },
        { source: 'nobody-registered-this' },
      ),
      cloudEvent('web.page_viewed', { contact: { email: 'bob@globex.io' }, url: '/' }, { time: 'yesterday' }),
      { specversion: '0.3', id: 'x', source: 'test-crm', type: 'email.sent' },
      cloudEvent('custom.thing_happened', { contact: { email: 'bob@globex.io' }, anything: [1, 2] }),
    ];
    const response = await post(batch);
    expect(response.status).toBe(200);
    // The answer is written without a check on the way out (for speed); it must still be what the schema says.
    expect(ingestReportSchema.strict().safeParse(response.body).error).toBeUndefined();
    const statuses = response.body.results.map((r: any) => [r.status, r.reason_code]);
    expect(statuses).toEqual([
      ['accepted', undefined],
      ['quarantined', 'invalid_data'],
      ['quarantined', 'unknown_source'],
      ['quarantined', 'invalid_time'],
      ['quarantined', 'invalid_envelope'],
      ['accepted', undefined],
    ]);
    expect(response.body.results[1].reason).toMatch(/data/);
    expect(response.body.results[5].type_known).toBe(false);
    const batchView = await server.request(`/v1/ingest/batches/${response.body.batch_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(batchView.body).toMatchObject({ accepted: 2, duplicate: 0, quarantined: 4, channel: 'http' });
    const quarantine = await server.request(`/v1/quarantine?batch_id=${response.body.batch_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(quarantine.body.items).toHaveLength(4);
    expect(quarantine.body.items.every((q: any) => q.raw !== null && q.reason.length > 0)).toBe(true);
  });

  it('refuses a batch over the limit and a non-array batch, storing nothing', async () => {
    const tooMany = Array.from({ length: 51 }, () =>
      cloudEvent('email.sent', { contact: { email: 'x@y.com' } }),
    );
    const response = await post(tooMany);
    expect(response.status).toBe(413);
    expect(response.body.error.message).toMatch(/limit is 50/);
    const notArray = await post({ not: 'an array' });
    expect(notArray.status).toBe(400);
  });

  it('stores the rest of a batch whole when the database refuses one event, and quarantines that one', async () => {
    // A lone surrogate passes every check before the database, which refuses it in JSON: the chunk is redone
    // one event at a time, so only that event is quarantined.
    const response = await post([
      cloudEvent('email.sent', { contact: { email: 'before@acme.com' } }),
      cloudEvent('web.page_viewed', {
        contact: { email: 'broken@acme.com' },
        url: 'https://acme.com/\ud800',
      }),
      cloudEvent('email.sent', { contact: { email: 'after@acme.com' } }),
    ]);
    expect(response.body.message).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: any) => [r.status, r.reason_code])).toEqual([
      ['accepted', undefined],
      ['quarantined', 'processing_failed'],
      ['accepted', undefined],
    ]);
    const batchView = await server.request(`/v1/ingest/batches/${response.body.batch_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(batchView.body).toMatchObject({ accepted: 2, duplicate: 0, quarantined: 1 });
    // Kept readable: the character the database refuses is replaced in the quarantined copy.
    const record = await server.request(`/v1/quarantine/${response.body.results[1].quarantine_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(record.body.raw.data.url).toBe('https://acme.com/\ufffd');
    const contacts = await database.db
      .selectFrom('contacts')
      .select('email')
      .where('email', 'in', ['before@acme.com', 'broken@acme.com', 'after@acme.com'])
      .orderBy('email')
      .execute();
    expect(contacts.map((c) => c.email)).toEqual(['after@acme.com', 'before@acme.com']);
    // The events stored one at a time mark their contacts for a feature refresh like any others.
    const marked = await database.db
      .selectFrom('dirty_contacts')
      .innerJoin('contacts', 'contacts.id', 'dirty_contacts.contact_id')
      .select('contacts.email')
      .where('contacts.email', 'in', ['before@acme.com', 'after@acme.com'])
      .orderBy('contacts.email')
      .execute();
    expect(marked.map((c) => c.email)).toEqual(['after@acme.com', 'before@acme.com']);
  });

  it('quarantines an event with a NUL character and stores the rest of the batch', async () => {
    const response = await post([
      cloudEvent('email.sent', { contact: { email: 'nul@acme.com' }, subject: 'bad\u0000byte' }),
      cloudEvent('email.sent', { contact: { email: 'ok@acme.com' } }),
    ]);
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: any) => r.status)).toEqual(['quarantined', 'accepted']);
    const record = await server.request(`/v1/quarantine/${response.body.results[0].quarantine_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(record.body.raw.data.subject).toBe('bad\ufffdbyte');
  });

  it('needs the ingest role', async () => {
    const response = await post(
      [cloudEvent('email.sent', { contact: { email: 'a@b.com' } })],
      undefined,
      await server.tokenFor('reviewer'),
    );
    expect(response.status).toBe(403);
  });

  it('reads local times in the source time zone', async () => {
    const event = cloudEvent(
      'email.sent',
      { contact: { email: 'zoe@berlin.de' } },
      { source: 'berlin-crm', time: '2026-07-01T12:00:00' },
    );
    const response = await post([event]);
    const stored = await server.request(`/v1/events/${response.body.results[0].event_id}`, {
      token: await server.tokenFor('analyst'),
    });
    expect(stored.body.occurred_at).toBe('2026-07-01T10:00:00.000Z');
  });
});

describe('quarantine replay', () => {
  it('replays a record after the cause is fixed, and marks it replayed', async () => {
    const event = cloudEvent(
      'email.sent',
      { contact: { email: 'late@initech.com' } },
      { source: 'initech-mail' },
    );
    const first = await post([event]);
    const quarantineId = first.body.results[0].quarantine_id;
    expect(first.body.results[0].reason_code).toBe('unknown_source');
    const admin = await server.tokenFor('admin');
    const stillBad = await server.request(`/v1/quarantine/${quarantineId}/replay`, {
      method: 'POST',
      token: ingest,
      json: {},
    });
    expect(stillBad.body.result.status).toBe('quarantined');
    expect((await server.request(`/v1/quarantine/${quarantineId}`, { token: admin })).body.status).toBe(
      'open',
    );
    await server.request('/v1/sources', { method: 'POST', token: admin, json: { name: 'initech-mail' } });
    const replay = await server.request(`/v1/quarantine/${quarantineId}/replay`, {
      method: 'POST',
      token: ingest,
      json: {},
    });
    expect(replay.body.result.status).toBe('accepted');
    const record = await server.request(`/v1/quarantine/${quarantineId}`, { token: admin });
    expect(record.body).toMatchObject({ status: 'replayed', replay_event_id: replay.body.result.event_id });
    const lineage = await server.request(`/v1/lineage/events/${replay.body.result.event_id}`, {
      token: admin,
    });
    expect(lineage.body.batch.channel).toBe('replay');
  });

  it('replays a corrected payload', async () => {
    const bad = cloudEvent('meeting.held', {
      contact: { email: 'c@umbrella.com' },
      duration_minutes: 'forty',
    });
    const first = await post([bad]);
    const id = first.body.results[0].quarantine_id;
    const fixed = { ...bad, data: { contact: { email: 'c@umbrella.com' }, duration_minutes: 40 } };
    const replay = await server.request(`/v1/quarantine/${id}/replay`, {
      method: 'POST',
      token: ingest,
      json: { event: fixed },
    });
    expect(replay.body.result.status).toBe('accepted');
  });
});

describe('reading back', () => {
  it('filters events by contact and type with cursor pagination', async () => {
    const email = 'pager@hooli.com';
    const events = Array.from({ length: 5 }, (_, i) =>
      cloudEvent(
        'web.page_viewed',
        { contact: { email }, url: `https://hooli.com/p${i}` },
        { time: `2026-04-0${i + 1}T08:00:00Z` },
      ),
    );
    const posted = await post(events);
    const analyst = await server.tokenFor('analyst');
    const first = await server.request(`/v1/events/${posted.body.results[0].event_id}`, { token: analyst });
    const contactId = first.body.contact_id;
    const page1 = await server.request(`/v1/events?contact_id=${contactId}&type=web.page_viewed&limit=2`, {
      token: analyst,
    });
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.items[0].occurred_at).toBe('2026-04-05T08:00:00.000Z');
    const page2 = await server.request(
      `/v1/events?contact_id=${contactId}&type=web.page_viewed&limit=2&cursor=${encodeURIComponent(page1.body.next_cursor)}`,
      { token: analyst },
    );
    const page3 = await server.request(
      `/v1/events?contact_id=${contactId}&type=web.page_viewed&limit=2&cursor=${encodeURIComponent(page2.body.next_cursor)}`,
      { token: analyst },
    );
    expect(
      [...page1.body.items, ...page2.body.items, ...page3.body.items].map((e: any) =>
        e.occurred_at.slice(0, 10),
      ),
    ).toEqual(['2026-04-05', '2026-04-04', '2026-04-03', '2026-04-02', '2026-04-01']);
    expect(page3.body.next_cursor).toBeNull();
    const ranged = await server.request(
      `/v1/events?contact_id=${contactId}&from=2026-04-02T00:00:00Z&to=2026-04-04T00:00:00Z`,
      { token: analyst },
    );
    expect(ranged.body.items).toHaveLength(2);
  });
});

describe('signed webhooks', () => {
  let secret: string;
  beforeAll(async () => {
    await ensureSource(database.db, { name: 'hooks' });
    secret = (await rotateWebhookSecret(database.db, 'hooks')).secret;
  });

  function deliver(body: string, options: { id?: string; timestamp?: number; key?: string } = {}) {
    const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return server.request('/v1/webhooks/hooks', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(options.key ?? secret, id, timestamp, body),
      },
      body,
    });
  }

  it('accepts a correctly signed delivery without an API token', async () => {
    const body = JSON.stringify(
      cloudEvent('form.ignored.type', { contact: { email: 'w@wayne.com' } }, { source: 'hooks' }),
    );
    const response = await deliver(body);
    expect(response.status).toBe(200);
    expect(response.body.accepted).toBe(1);
  });

  it('refuses a wrong secret, a stale timestamp and a missing signature', async () => {
    const body = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'w@wayne.com' } }, { source: 'hooks' }),
    );
    const wrong = await deliver(body, { key: 'whsec_' + Buffer.from('not the secret').toString('base64') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/does not match/);
    const stale = await deliver(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toMatch(/tolerance/);
    const unsigned = await server.request('/v1/webhooks/hooks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unsigned.status).toBe(401);
  });

  it('refuses a body changed after signing', async () => {
    const id = 'msg_tampered';
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'w@wayne.com' } }, { source: 'hooks' }),
    );
    const response = await server.request('/v1/webhooks/hooks', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secret, id, timestamp, body),
      },
      body: body.replace('wayne', 'evil'),
    });
    expect(response.status).toBe(401);
  });

  it('acknowledges a replayed webhook-id without processing it again', async () => {
    const event = cloudEvent('email.sent', { contact: { email: 'replay@wayne.com' } }, { source: 'hooks' });
    const body = JSON.stringify(event);
    const first = await deliver(body, { id: 'msg_fixed' });
    expect(first.body.accepted).toBe(1);
    const replay = await deliver(JSON.stringify({ ...event, id: 'another-id' }), { id: 'msg_fixed' });
    expect(replay.status).toBe(200);
    expect(replay.body.duplicate_delivery).toBe(true);
    const count = await database.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('source', '=', 'hooks')
      .where('source_event_id', '=', 'another-id')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('keeps working through a secret rotation', async () => {
    const old = secret;
    const rotated = (await rotateWebhookSecret(database.db, 'hooks', 3600)).secret;
    const body = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'rot@wayne.com' } }, { source: 'hooks' }),
    );
    expect((await deliver(body, { key: old })).status).toBe(200);
    const body2 = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'rot@wayne.com' } }, { source: 'hooks' }),
    );
    expect((await deliver(body2, { key: rotated })).status).toBe(200);
    secret = (await rotateWebhookSecret(database.db, 'hooks', 0)).secret;
    const body3 = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'rot@wayne.com' } }, { source: 'hooks' }),
    );
    expect((await deliver(body3, { key: old })).status).toBe(401);
  });

  it('refuses events claiming another source', async () => {
    const body = JSON.stringify(
      cloudEvent('email.sent', { contact: { email: 'x@wayne.com' } }, { source: 'test-crm' }),
    );
    const response = await deliver(body);
    expect(response.status).toBe(400);
  });
});
