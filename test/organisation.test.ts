import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSource } from '../src/ingest/sources.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

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

it('creates territories, teams and products idempotently; analysts read them, only admins write', async () => {
  const admin = await server.tokenFor('admin');
  const analyst = await server.tokenFor('analyst');
  const territory = await server.request('/v1/territories', {
    method: 'PUT',
    token: admin,
    json: { name: 'EMEA North', region: 'EMEA', rules: { countries: ['DE', 'SE'] } },
  });
  expect(territory.status).toBe(200);
  const again = await server.request('/v1/territories', {
    method: 'PUT',
    token: admin,
    json: { name: 'EMEA North', region: 'EMEA', rules: { countries: ['DE'] } },
  });
  expect(again.body.id).toBe(territory.body.id);
  expect(again.body.rules).toEqual({ countries: ['DE'] });
  const team = await server.request('/v1/teams', {
    method: 'PUT',
    token: admin,
    json: { name: 'Nordics', territory_id: territory.body.id },
  });
  expect(team.body.territory_id).toBe(territory.body.id);
  await server.request('/v1/products', {
    method: 'PUT',
    token: admin,
    json: { sku: 'GTX-PRO', name: 'GTX Pro', list_price: 4821 },
  });
  expect(
    (await server.request('/v1/products', { token: analyst })).body.items.map((p: any) => p.sku),
  ).toEqual(['GTX-PRO']);
  expect(
    (await server.request('/v1/teams', { method: 'PUT', token: analyst, json: { name: 'x' } })).status,
  ).toBe(403);
  const badRules = await server.request('/v1/territories', {
    method: 'PUT',
    token: admin,
    json: { name: 'X', region: 'NA', rules: { size_bands: ['huge'] } },
  });
  expect(badRules.status).toBe(400);
});

it('shows an opportunity with its contacts and stage history', async () => {
  await ensureSource(database.db, { name: 'crm' });
  const ingest = await server.tokenFor('ingest');
  const events = [
    {
      specversion: '1.0',
      id: 'o1',
      source: 'crm',
      type: 'crm.opportunity.created',
      time: '2026-02-01T09:00:00Z',
      data: {
        opportunity: { crm_id: 'OPP-1' },
        account: { domain: 'initech.com', name: 'Initech' },
        name: 'Initech renewal',
        stage: 'discovery',
        amount: 50000,
        contacts: [{ contact: { email: 'peter@initech.com' }, role: 'champion' }],
      },
    },
    {
      specversion: '1.0',
      id: 'o2',
      source: 'crm',
      type: 'crm.opportunity.stage_changed',
      time: '2026-02-10T09:00:00Z',
      data: { opportunity: { crm_id: 'OPP-1' }, from_stage: 'discovery', to_stage: 'proposal' },
    },
  ];
  const posted = await server.request('/v1/events', { method: 'POST', token: ingest, json: events });
  expect(posted.body.accepted).toBe(2);
  const analyst = await server.request('/v1/opportunities?status=open', {
    token: await server.tokenFor('analyst'),
  });
  expect(analyst.body.items).toHaveLength(1);
  const detail = await server.request(`/v1/opportunities/${analyst.body.items[0].id}`, {
    token: await server.tokenFor('analyst'),
  });
  expect(detail.body).toMatchObject({ name: 'Initech renewal', stage: 'proposal', amount: '50000.00' });
  expect(detail.body.contacts).toHaveLength(1);
  expect(detail.body.stage_history.map((h: any) => h.to_stage)).toEqual(['discovery', 'proposal']);
});
