// Point-in-time features: values as they were at T, a planted future-only signal that must not leak, and the
// version discipline of definitions.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFeatures, registerFeatureDefinitions } from '../../src/features/compute.ts';
import { featureSet } from '../../src/features/definitions.ts';
import { materializeContacts } from '../../src/features/materialize.ts';
import { buildLeadTrainingSet } from '../../src/features/training-set.ts';
import { ingestCloudEvents } from '../../src/ingest/ingest-events.ts';
import { ensureSource } from '../../src/ingest/sources.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let n = 0;
const set = featureSet('lead_scoring');
const day = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000);

function event(type: string, data: unknown, at: Date) {
  n += 1;
  return { specversion: '1.0', id: `f-${n}`, source: 'crm', type, time: at.toISOString(), data };
}

async function contactId(email: string): Promise<string> {
  const row = await database.db
    .selectFrom('contacts')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  return row.id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await ensureSource(database.db, { name: 'crm' });
});
afterAll(async () => database?.drop());

describe('point-in-time features', () => {
  it('computes windows and rates from events before the moment only', async () => {
    const email = 'pit@acme.io';
    const report = await ingestCloudEvents(
      database.db,
      [
        event(
          'crm.contact.created',
          {
            contact: { email },
            account: { domain: 'acme.io', name: 'Acme' },
            seniority: 'vp',
            department: 'Finance',
          },
          day(0),
        ),
        event(
          'crm.account.updated',
          { account: { domain: 'acme.io' }, employees: 800, industry: 'Software' },
          day(0),
        ),
        ...[1, 2, 3, 4].map((d) => event('email.sent', { contact: { email } }, day(d))),
        event('email.replied', { contact: { email } }, day(5)),
        event('web.page_viewed', { contact: { email }, url: 'https://acme.io/pricing' }, day(18)),
        event('web.page_viewed', { contact: { email }, url: 'https://acme.io/pricing?plan=pro' }, day(19)),
        event('meeting.held', { contact: { email } }, day(25)),
        event('crm.contact.stage_changed', { contact: { email }, to_stage: 'mql' }, day(20)),
      ],
      { channel: 'http' },
    );
    expect(report.quarantined).toBe(0);
    const id = await contactId(email);
    const [at20, at30] = await computeFeatures(database.db, set, [
      { contactId: id, asOf: day(20) },
      { contactId: id, asOf: day(30) },
    ]);
    expect(at20).toMatchObject({
      emails_sent_90d: 4,
      email_reply_rate_90d: 0.25,
      pricing_views_14d: 2,
      meetings_held_90d: 0,
      seniority: 'vp',
      lifecycle_stage: 'lead',
      account_size_band: 'mid_market',
      account_employees: 800,
    });
    expect(at20!.days_since_last_touch).toBeCloseTo(1, 5);
    expect(at30).toMatchObject({ pricing_views_14d: 2, meetings_held_90d: 1, lifecycle_stage: 'mql' });
    expect(at30!.days_in_stage).toBeCloseTo(10, 5);
  });

  it('does not leak a signal that only exists after the moment into a training set', async () => {
    // 30 leads; half of them become SQL at day 64 and, only after day 60, flood the pricing page.
    const events: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const email = `lead${i}@leak${i}.com`;
      events.push(event('crm.contact.created', { contact: { email } }, day(1)));
      events.push(event('email.sent', { contact: { email } }, day(2)));
      if (i % 2 === 0) {
        for (let k = 0; k < 5; k++)
          events.push(
            event(
              'web.page_viewed',
              { contact: { email }, url: '/pricing' },
              new Date(day(60).getTime() + (k + 1) * 3_600_000),
            ),
          );
        events.push(event('crm.contact.stage_changed', { contact: { email }, to_stage: 'sql' }, day(64)));
      }
    }
    await ingestCloudEvents(database.db, events, { channel: 'http' });
    const training = await buildLeadTrainingSet(database.db, { set, until: day(120), stepDays: 14 });
    const leakContacts = new Set(
      (await database.db.selectFrom('contacts').select('id').where('email', 'like', '%@leak%').execute()).map(
        (r) => r.id,
      ),
    );
    expect(leakContacts.size).toBe(30);
    const leakMoments = training.moments
      .map((m, i) => ({ ...m, i }))
      .filter((m) => leakContacts.has(m.contactId));
    expect(leakMoments.length).toBeGreaterThan(30);
    expect(training.positives).toBeGreaterThan(0);
    // Every moment is before the SQL date of its contact, and the future pricing flood is invisible.
    for (const m of leakMoments) {
      const row = training.rows[m.i]!;
      if (m.asOf.getTime() <= day(60).getTime()) expect(row.pricing_views_14d).toBe(0);
    }
    const positivesAtMoment = training.moments.filter((_, i) => training.labels[i] === 1);
    expect(positivesAtMoment.every((m) => m.asOf.getTime() < day(64).getTime())).toBe(true);
    // The label is the only place the future shows.
    const positiveRows = training.rows.filter(
      (_, i) => training.labels[i] === 1 && leakContacts.has(training.moments[i]!.contactId),
    );
    expect(positiveRows.length).toBeGreaterThan(0);
    expect(positiveRows.every((r) => r.pricing_views_14d === 0)).toBe(true);
    // No moment has a label window that ends after `until`.
    expect(training.moments.every((m) => m.asOf.getTime() + 30 * 86_400_000 <= day(120).getTime())).toBe(
      true,
    );
  });

  it('materialises the online store and only moves it forward in time', async () => {
    const id = await contactId('pit@acme.io');
    await materializeContacts(database.db, [id], { asOf: day(30) });
    await materializeContacts(database.db, [id], { asOf: day(20) });
    const stored = await database.db
      .selectFrom('feature_values')
      .selectAll()
      .where('entity_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(stored.as_of.toISOString()).toBe(day(30).toISOString());
    expect(stored.values.meetings_held_90d).toBe(1);
  });

  it('refuses a changed computation under an old version number', async () => {
    await registerFeatureDefinitions(database.db);
    await registerFeatureDefinitions(database.db);
    await sql`update feature_definitions set computation_hash = 'tampered' where name = 'touches_7d' and version = 1`.execute(
      database.db,
    );
    await expect(registerFeatureDefinitions(database.db)).rejects.toThrow(
      /touches_7d version 1 changed its computation; add it as version 2/,
    );
  });
});
