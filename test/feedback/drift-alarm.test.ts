// A drift alarm trips the circuit breaker; every proposal then goes to review until a policy owner resets the
// breaker with a reason (audited); the alarm resolves when the drift is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/audit-log.ts';
import { loadConfig } from '../../src/config.ts';
import { runMonitoring } from '../../src/monitoring/run-monitoring.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { championWithDriftReference, scoreLeads, type DriftWorld } from '../helpers/drift-fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { activatePolicy, decisionRow, propose } from '../review/review-fixtures.ts';

let database: TestDatabase;
let server: TestServer;
let world: DriftWorld;
const settings = loadConfig({ overrides: { logLevel: 'silent' } });
const scoreContacts = (shift: number, seed: number) => scoreLeads(database.db, world, shift, seed);

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  const db = database.db;
  world = await championWithDriftReference(db);
  await activatePolicy(db);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('drift alarms and the circuit breaker', () => {
  it('measures no drift on the reference distribution and lets automation run', async () => {
    await scoreContacts(0, 2);
    const report = await runMonitoring(database.db, settings);
    const intent = report.drift.features.find((f) => f.feature === 'intent')!;
    expect(intent.psi).toBeLessThan(0.1);
    expect(intent.p_value).toBeGreaterThan(0.01);
    expect(report.alarms.opened).toEqual([]);
    expect((await decisionRow(database.db, await propose(database.db, 'auto'))).status).toBe('auto_approved');
  });

  it('a drifted feature opens an alarm that trips the breaker; every proposal then goes to review', async () => {
    await scoreContacts(0.8, 3);
    const report = await runMonitoring(database.db, settings);
    const intent = report.drift.features.find((f) => f.feature === 'intent')!;
    // N(0,1) against N(0.8,1): PSI about 0.6 on deciles, far above the 0.2 alarm; KS rejects at any level.
    expect(intent.psi).toBeGreaterThan(0.4);
    expect(intent.p_value).toBeLessThan(1e-6);
    expect(report.alarms.tripped).not.toBeNull();
    const breaker = await server.request('/v1/circuit-breaker', { token: await server.tokenFor('analyst') });
    expect(breaker.body).toMatchObject({ open: true, trigger: 'alarm', alarm_id: report.alarms.tripped });
    const alarms = await server.request('/v1/alarms', { token: await server.tokenFor('analyst') });
    expect(
      alarms.body.items.map(
        (a: { kind: string; key: string; severity: string }) => `${a.kind}:${a.key}:${a.severity}`,
      ),
    ).toEqual(expect.arrayContaining(['feature_drift:intent:alarm', 'score_drift:score:alarm']));
    for (const tier of ['auto', 'auto', 'auto']) {
      const row = await decisionRow(database.db, await propose(database.db, tier));
      expect(row.status).toBe('pending_review');
      expect(JSON.stringify(row.gate)).toContain('circuit breaker open');
    }
    const metrics = await server.request('/metrics', { token: await server.tokenFor('analyst') });
    expect(metrics.body).toMatch(
      /funnelgate_alarms_open\{kind="feature_drift",severity="alarm",app="funnelgate"\} 1/,
    );
    expect(metrics.body).toMatch(/funnelgate_drift_psi\{feature="intent"/);
  });

  it('only a policy owner resets it, with a reason; the reset is audited and acknowledges the alarm', async () => {
    const reviewer = await server.tokenFor('reviewer');
    expect(
      (
        await server.request('/v1/circuit-breaker', {
          method: 'PUT',
          token: reviewer,
          json: { open: false, reason: 'looks fine' },
        })
      ).status,
    ).toBe(403);
    const owner = await server.tokenFor('policy_owner');
    expect(
      (await server.request('/v1/circuit-breaker', { method: 'PUT', token: owner, json: { open: false } }))
        .status,
    ).toBe(400);
    const reset = await server.request('/v1/circuit-breaker', {
      method: 'PUT',
      token: owner,
      json: { open: false, reason: 'drift explained by the new campaign; model retraining scheduled' },
    });
    expect(reset.status).toBe(200);
    expect(reset.body.open).toBe(false);
    const audit = await database.db
      .selectFrom('audit_log')
      .select(['action', 'actor', 'reason'])
      .where('action', 'in', ['breaker.open', 'breaker.close', 'alarm.open', 'alarm.acknowledge'])
      .execute();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['alarm.open', 'breaker.open', 'breaker.close', 'alarm.acknowledge']),
    );
    expect(audit.find((a) => a.action === 'breaker.open')?.actor).toBe('monitoring');
    expect((await verifyAuditChain(database.db)).ok).toBe(true);
    // Acknowledged: automation runs again, and the same (still open) alarm does not trip the breaker again.
    expect((await decisionRow(database.db, await propose(database.db, 'auto'))).status).toBe('auto_approved');
    const again = await runMonitoring(database.db, settings);
    expect(again.alarms.tripped).toBeNull();
    expect(
      (await database.db.selectFrom('circuit_breaker').select('open').executeTakeFirstOrThrow()).open,
    ).toBe(false);
  });

  it('an unacknowledged alarm holds automation back even with the breaker closed, and resolves when drift is gone', async () => {
    const db = database.db;
    await db
      .updateTable('alarms')
      .set({ acknowledged_at: null })
      .where('kind', '=', 'feature_drift')
      .execute();
    const row = await decisionRow(db, await propose(db, 'auto'));
    expect(row.status).toBe('pending_review');
    expect(JSON.stringify(row.gate)).toContain('monitoring alarm');
    await scoreContacts(0, 4);
    const report = await runMonitoring(db, settings);
    expect(report.alarms.resolved.length).toBeGreaterThanOrEqual(2);
    expect(
      await db
        .selectFrom('alarms')
        .select('id')
        .where('status', '=', 'open')
        .where('kind', '=', 'feature_drift')
        .execute(),
    ).toEqual([]);
    expect((await decisionRow(db, await propose(db, 'auto'))).status).toBe('auto_approved');
  });
});
