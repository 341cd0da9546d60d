// Each connector against a local HTTP server that checks the request it receives: method, path, headers
// (authorization, Idempotency-Key, a valid Standard Webhooks signature) and the JSON body.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { runDeliveries } from '../../src/execution/deliver.ts';
import { executionSettings } from '../../src/execution/settings.ts';
import { isRetryableStatus } from '../../src/execution/connectors/http.ts';
import { verifyWebhook } from '../../src/ingest/webhook-signature.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import {
  contactEmail,
  createContact,
  createOwner,
  decisionOf,
  outboxOf,
  proposeDecision,
  routing,
  startTarget,
  testSettings,
  WEBHOOK_SECRET,
  type RecordedRequest,
  type Target,
} from './fixtures.ts';

let database: TestDatabase;
let target: Target;

beforeAll(async () => {
  database = await createTestDatabase();
  target = await startTarget();
});
afterAll(async () => {
  await target?.close();
  await database?.drop();
});
beforeEach(() => {
  target.requests.length = 0;
  target.answer = () => ({ status: 200, body: { ok: true } });
});

function requestFor(decisionId: string, kind = 'action'): RecordedRequest {
  const key = `fg-${decisionId}-${kind}`;
  const found = target.requests.filter((r) => r.headers['idempotency-key'] === key);
  expect(found, `requests with Idempotency-Key ${key}`).toHaveLength(1);
  return found[0]!;
}

describe('webhook', () => {
  it('POSTs exactly the approved action, signed the Standard Webhooks way, with the idempotency key', async () => {
    const owner = await createOwner(database.db);
    const previous = await createOwner(database.db);
    const contactId = await createContact(database.db, { hubspot: '77' });
    const id = await proposeDecision(database.db, routing(contactId, owner.id, previous.id), {
      connector: 'webhook',
    });
    const summary = await runDeliveries(database.db, testSettings(target.url));
    expect(summary).toMatchObject({ delivered: 1, dead: 0, retried: 0 });

    const request = requestFor(id);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hooks/funnelgate');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(`fg-${id}-action`);
    expect(() =>
      verifyWebhook(
        [WEBHOOK_SECRET],
        {
          id: request.headers['webhook-id'] as string,
          timestamp: request.headers['webhook-timestamp'] as string,
          signature: request.headers['webhook-signature'] as string,
        },
        request.raw,
      ),
    ).not.toThrow();
    // A different secret does not verify: the signature really covers this body.
    expect(() =>
      verifyWebhook(
        [`whsec_${Buffer.from('another secret of enough length').toString('base64')}`],
        {
          id: request.headers['webhook-id'] as string,
          timestamp: request.headers['webhook-timestamp'] as string,
          signature: request.headers['webhook-signature'] as string,
        },
        request.raw,
      ),
    ).toThrow(/does not match/);

    const decision = await decisionOf(database.db, id);
    expect(request.body).toMatchObject({
      type: 'funnelgate.action.approved',
      data: { decision_id: id, kind: 'action', idempotency_key: `fg-${id}-action` },
    });
    expect(request.body.data.action).toEqual(decision.approved_action);
    expect(request.body.data.context.contact.crmIds).toEqual({ hubspot: '77' });
    expect(request.body.data.context.owner.email).toBe(owner.email);

    expect(decision.status).toBe('executed');
    expect(decision.execution).toMatchObject({
      connector: 'webhook',
      attempts: 1,
      idempotency_key: `fg-${id}-action`,
      response: { status: 200, body: '{"ok":true}' },
    });
    const row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
    expect(row.delivered_at).toBeInstanceOf(Date);
    expect(row.response).toMatchObject({ status: 200, body: { ok: true } });
  });
});

describe('hubspot', () => {
  it('speaks CRM v3: PATCH contacts for routing and qualification, POST tasks with an association', async () => {
    const owner = await createOwner(database.db);
    const contactId = await createContact(database.db, { hubspot: '501', salesforce: '00Qxx' });
    const at = '2026-07-01T09:30:00.000Z';
    const ids = {
      route: await proposeDecision(database.db, routing(contactId, owner.id), { connector: 'hubspot' }),
      qualify: await proposeDecision(
        database.db,
        {
          type: 'lead.qualify',
          params: { contact_id: contactId, to_stage: 'sql', reason: 'fit and intent' },
        },
        { connector: 'hubspot' },
      ),
      followup: await proposeDecision(
        database.db,
        {
          type: 'followup.schedule',
          params: {
            contact_id: contactId,
            owner_id: owner.id,
            channel: 'call',
            at,
            timezone: 'Europe/Berlin',
          },
        },
        { connector: 'hubspot' },
      ),
      nba: await proposeDecision(
        database.db,
        {
          type: 'nba.recommend',
          params: {
            contact_id: contactId,
            action: 'meeting_request',
            owner_id: null,
            note: 'asked for a demo',
          },
        },
        { connector: 'hubspot' },
      ),
    };
    target.answer = (r) => ({ status: r.method === 'POST' ? 201 : 200, body: { id: 'hs-1' } });
    const summary = await runDeliveries(database.db, testSettings(target.url));
    expect(summary).toMatchObject({ delivered: 4, dead: 0 });
    for (const r of target.requests) {
      expect(r.headers.authorization).toBe('Bearer hs-test-token');
      expect(r.headers['content-type']).toBe('application/json');
    }

    const route = requestFor(ids.route);
    expect(route.method).toBe('PATCH');
    expect(route.path).toBe('/crm/v3/objects/contacts/501');
    // Users have no HubSpot owner id yet: the owner's email goes in hubspot_owner_email.
    expect(route.body).toEqual({ properties: { hubspot_owner_email: owner.email } });

    const qualify = requestFor(ids.qualify);
    expect(qualify.method).toBe('PATCH');
    expect(qualify.path).toBe('/crm/v3/objects/contacts/501');
    expect(qualify.body).toEqual({ properties: { lifecyclestage: 'salesqualifiedlead' } });

    const association = [
      { to: { id: '501' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }] },
    ];
    const followup = requestFor(ids.followup);
    expect(followup.method).toBe('POST');
    expect(followup.path).toBe('/crm/v3/objects/tasks');
    expect(followup.body).toEqual({
      properties: {
        hs_task_status: 'NOT_STARTED',
        hs_timestamp: at,
        hs_task_subject: 'Follow up by call',
        hs_task_body: expect.stringContaining(ids.followup),
        hs_task_type: 'CALL',
        hubspot_owner_email: owner.email,
      },
      associations: association,
    });

    const nba = requestFor(ids.nba);
    expect(nba.path).toBe('/crm/v3/objects/tasks');
    expect(nba.body.properties).toMatchObject({
      hs_task_subject: 'Next best action: meeting request',
      hs_task_type: 'TODO',
      hs_task_body: expect.stringContaining('asked for a demo'),
    });
    expect(Date.parse(nba.body.properties.hs_timestamp)).not.toBeNaN();
    expect(nba.body.associations).toEqual(association);
    expect((await decisionOf(database.db, ids.nba)).execution).toMatchObject({
      connector: 'hubspot',
      response: { status: 201 },
    });
  });

  it('addresses a contact without a HubSpot id by email, and refuses a task it cannot associate', async () => {
    const owner = await createOwner(database.db);
    const contactId = await createContact(database.db, { salesforce: '00Qonly' });
    const route = await proposeDecision(database.db, routing(contactId, owner.id), { connector: 'hubspot' });
    const followup = await proposeDecision(
      database.db,
      {
        type: 'followup.schedule',
        params: {
          contact_id: contactId,
          owner_id: null,
          channel: 'email',
          at: '2026-07-01T09:30:00Z',
          timezone: 'UTC',
        },
      },
      { connector: 'hubspot' },
    );
    await runDeliveries(database.db, testSettings(target.url));
    const email = await contactEmail(database.db, contactId);
    expect(requestFor(route).path).toBe(
      `/crm/v3/objects/contacts/${encodeURIComponent(email)}?idProperty=email`,
    );
    // Nothing was sent for the task: it went straight to the dead-letter queue with the reason.
    expect(target.requests.filter((r) => r.headers['idempotency-key'] === `fg-${followup}-action`)).toEqual(
      [],
    );
    const dead = await outboxOf(database.db, followup);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    expect(dead.last_error).toMatch(/permanent failure: hubspot: .*crm:hubspot:<id>/);
    expect((await decisionOf(database.db, followup)).status).toBe('failed');
  });
});

describe('salesforce', () => {
  it('speaks the sObject REST API: PATCH Lead, POST Task', async () => {
    const owner = await createOwner(database.db);
    const contactId = await createContact(database.db, { salesforce: '00Q5e000001AbcD' });
    const route = await proposeDecision(database.db, routing(contactId, owner.id), {
      connector: 'salesforce',
    });
    const qualify = await proposeDecision(
      database.db,
      {
        type: 'lead.qualify',
        params: { contact_id: contactId, to_stage: 'disqualified', reason: 'student' },
      },
      { connector: 'salesforce' },
    );
    const followup = await proposeDecision(
      database.db,
      {
        type: 'followup.schedule',
        params: {
          contact_id: contactId,
          owner_id: owner.id,
          channel: 'email',
          at: '2026-07-02T14:00:00Z',
          timezone: 'America/New_York',
        },
      },
      { connector: 'salesforce' },
    );
    // Salesforce answers a PATCH with 204 and no body.
    target.answer = (r) =>
      r.method === 'PATCH' ? { status: 204 } : { status: 201, body: { id: '00T1', success: true } };
    const summary = await runDeliveries(database.db, testSettings(target.url));
    expect(summary).toMatchObject({ delivered: 3, dead: 0 });
    for (const r of target.requests) expect(r.headers.authorization).toBe('Bearer sf-test-token');

    const patch = requestFor(route);
    expect(patch.method).toBe('PATCH');
    expect(patch.path).toBe('/services/data/v61.0/sobjects/Lead/00Q5e000001AbcD');
    expect(patch.body).toEqual({ Funnelgate_Owner_Email__c: owner.email });
    expect(requestFor(qualify).body).toEqual({ Status: 'Unqualified' });

    const task = requestFor(followup);
    expect(task.method).toBe('POST');
    expect(task.path).toBe('/services/data/v61.0/sobjects/Task');
    expect(task.body).toEqual({
      Status: 'Not Started',
      Priority: 'Normal',
      Subject: 'Follow up by email',
      Description: expect.stringContaining(followup),
      TaskSubtype: 'Email',
      ActivityDate: '2026-07-02',
      IsReminderSet: true,
      ReminderDateTime: '2026-07-02T14:00:00.000Z',
      WhoId: '00Q5e000001AbcD',
      Funnelgate_Owner_Email__c: owner.email,
    });
    expect((await decisionOf(database.db, route)).status).toBe('executed');
  });
});

describe('log', () => {
  it('sends nothing, records the request it would have sent, and says so', async () => {
    const owner = await createOwner(database.db);
    const contactId = await createContact(database.db);
    const id = await proposeDecision(database.db, routing(contactId, owner.id), { connector: 'log' });
    await runDeliveries(database.db, testSettings(target.url));
    expect(target.requests).toEqual([]);
    const row = await outboxOf(database.db, id);
    expect(row.status).toBe('delivered');
    expect(row.response).toMatchObject({
      nothing_left_the_building: true,
      note: expect.stringMatching(/Nothing left the building/),
      request: { method: 'POST', body: { data: { action: row.payload } } },
    });
    expect((await decisionOf(database.db, id)).execution).toMatchObject({
      connector: 'log',
      response: { nothing_left_the_building: true },
    });
  });
});

describe('settings', () => {
  it('come from the environment, with secrets redacted from errors', () => {
    const settings = executionSettings(
      loadConfig({
        env: {
          FUNNELGATE_WEBHOOK_URL: 'https://hooks.example.com/in',
          FUNNELGATE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          FUNNELGATE_HUBSPOT_TOKEN: 'pat-na1-123',
          FUNNELGATE_SALESFORCE_URL: 'https://acme.my.salesforce.com',
          FUNNELGATE_SALESFORCE_TOKEN: '00D!abc',
          FUNNELGATE_CRM_SOURCE: 'crm-main',
          FUNNELGATE_EXECUTION_MAX_ATTEMPTS: '3',
          FUNNELGATE_EXECUTION_VISIBILITY_TIMEOUT_SECONDS: '30',
          FUNNELGATE_CONNECTOR_BREAKER_THRESHOLD: '2',
        },
      }),
    );
    expect(settings).toMatchObject({
      maxAttempts: 3,
      visibilityTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      backoff: { baseMs: 2000, capMs: 600_000 },
      breaker: { threshold: 2, cooldownMs: 60_000 },
      connectors: {
        webhook: { url: 'https://hooks.example.com/in', secret: WEBHOOK_SECRET },
        hubspot: { url: 'https://api.hubapi.com', token: 'pat-na1-123', source: 'crm-main' },
        salesforce: { url: 'https://acme.my.salesforce.com', token: '00D!abc', source: 'crm-main' },
      },
    });
    let message = '';
    try {
      loadConfig({ env: { FUNNELGATE_WEBHOOK_SECRET: 'not-a-secret', FUNNELGATE_HUBSPOT_TOKEN: '' } });
    } catch (error) {
      message = JSON.stringify(error) + String(error);
    }
    expect(message).toMatch(/FUNNELGATE_WEBHOOK_SECRET/);
    expect(message).not.toMatch(/not-a-secret/);
  });

  it('leaves deliveries waiting, unattempted, while their connector is not configured', async () => {
    const contactId = await createContact(database.db);
    const id = await proposeDecision(
      database.db,
      { type: 'lead.qualify', params: { contact_id: contactId, to_stage: 'nurture', reason: 'later' } },
      { connector: 'webhook' },
    );
    const settings = testSettings(target.url);
    const unconfigured = {
      ...settings,
      connectors: { ...settings.connectors, webhook: { url: undefined, secret: undefined } },
    };
    const summary = await runDeliveries(database.db, unconfigured);
    expect(summary).toMatchObject({ waiting: 1, delivered: 0 });
    const row = await outboxOf(database.db, id);
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(row.last_error).toMatch(/FUNNELGATE_WEBHOOK_URL/);
    expect((await decisionOf(database.db, id)).status).toBe('auto_approved');
    await sql`update outbox set next_attempt_at = now() where id = ${row.id}`.execute(database.db);
    await runDeliveries(database.db, settings);
    expect((await decisionOf(database.db, id)).status).toBe('executed');
  });

  it('retries network errors, timeouts, 408, 409, 429 and 5xx; other 4xx are permanent', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504]) expect(isRetryableStatus(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 410, 413, 422]) expect(isRetryableStatus(status)).toBe(false);
  });
});
