// Lead scoring end to end on a simulated company with known drivers: cold-start prior, training point-in-time,
// registry promotion refused for a worse challenger, rollback, scores with business-language factors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { verifyAuditChain } from '../../src/audit/audit-log.ts';
import { inProcessSink, runSimulation } from '../../src/ingest/simulator/run.ts';
import { trainScorer } from '../../src/models/ml/pipeline.ts';
import { promoteModel } from '../../src/models/promote-model.ts';
import { currentAlias, rollbackModel, setAlias } from '../../src/models/registry.ts';
import { LEAD_MODEL, scoreContacts } from '../../src/models/score-contacts.ts';
import { trainLeadModel } from '../../src/models/train-lead-model.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
const now = new Date('2026-06-01T00:00:00Z');
const rule = { metric: 'roc_auc' as const, minGain: 0 };

beforeAll(async () => {
  database = await createTestDatabase();
  await runSimulation({
    db: database.db,
    params: { seed: 11, accounts: 160, months: 12, now },
    sink: inProcessSink(database.db),
  });
}, 240_000);
afterAll(async () => database?.drop());

async function someContacts(limit: number): Promise<string[]> {
  const rows = await database.db
    .selectFrom('contacts')
    .select('id')
    .where('merged_into_id', 'is', null)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

describe('lead scoring', () => {
  it('scores with a flagged, transparent prior before any model exists', async () => {
    const ids = await someContacts(20);
    const scores = await scoreContacts(database.db, ids, { asOf: now });
    expect(scores.every((s) => s.isPrior && s.probability > 0 && s.probability < 1)).toBe(true);
    const stored = await database.db
      .selectFrom('lead_scores')
      .selectAll()
      .where('contact_id', '=', ids[0]!)
      .executeTakeFirstOrThrow();
    expect(stored.is_prior).toBe(true);
    expect((stored.feature_snapshot as Record<string, unknown>)['pricing_views_14d']).toBeDefined();
  });

  it('trains point-in-time, is calibrated and ranks on a later holdout, and names the planted drivers', async () => {
    const first = await trainLeadModel(database.db, {
      kind: 'gbt',
      calibration: 'isotonic',
      until: now,
      by: 'tester',
    });
    expect(first.alias).toBe('champion');
    expect(first.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(first.metrics.ece).toBeLessThan(0.1);
    const model = await database.db
      .selectFrom('models')
      .selectAll()
      .where('id', '=', first.id)
      .executeTakeFirstOrThrow();
    expect(model.training_data_hash).toMatch(/^[0-9a-f]{64}$/);
    // Knowledge-graph features are part of the set, computed as of each training moment.
    expect(model.feature_set_version).toBe(2);
    expect(JSON.stringify(model.artifact)).toContain('related_accounts_win_rate');
    expect(model.holdout_from!.getTime()).toBeGreaterThan(model.train_to!.getTime() - 1);

    const ids = await someContacts(400);
    await scoreContacts(database.db, ids, { asOf: now });
    const scored = await database.db
      .selectFrom('lead_scores')
      .selectAll()
      .where('alias', '=', 'champion')
      .where('model_version', '=', first.version)
      .execute();
    expect(scored.length).toBe(400);
    expect(scored.every((s) => !s.is_prior)).toBe(true);
    // The simulator's strongest drivers show up as the top reasons for high scores.
    const counts = new Map<string, number>();
    for (const s of scored.sort((a, b) => b.probability - a.probability).slice(0, 60)) {
      for (const f of (s.factors as { for: { feature: string }[] }).for)
        counts.set(f.feature, (counts.get(f.feature) ?? 0) + 1);
    }
    const top = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([f]) => f);
    expect(
      top.some((f) =>
        ['pricing_views_14d', 'meetings_held_90d', 'demo_intent_28d', 'email_reply_rate_90d'].includes(f),
      ),
    ).toBe(true);
    const phrase = (scored[0]!.factors as { for: { phrase: string }[] }).for[0]?.phrase ?? '';
    expect(phrase.length).toBeGreaterThan(5);
  }, 180_000);

  it('refuses to promote a challenger that is worse on the same holdout, and says why', async () => {
    const champion = await currentAlias(database.db, LEAD_MODEL, 'champion');
    // A deliberately useless model: trained on noise.
    const rows = Array.from({ length: 200 }, (_, i) => ({ touches_7d: i % 7, label: i % 3 === 0 ? 1 : 0 }));
    const noise = trainScorer({
      rows,
      label: 'label',
      positive: '1',
      kind: 'logistic',
      calibration: 'none',
      seed: 1,
    });
    const base = await database.db
      .selectFrom('models')
      .selectAll()
      .where('id', '=', champion!.id)
      .executeTakeFirstOrThrow();
    const {
      id,
      created_at: _c,
      trained_at: _t,
      ...copy
    } = { ...base, created_at: null } as typeof base & { created_at: null };
    void id;
    const worse = await database.db
      .insertInto('models')
      .values({
        ...copy,
        version: base.version + 1,
        artifact: JSON.stringify(noise.toJSON()),
        params: JSON.stringify(base.params),
        metrics: JSON.stringify(base.metrics),
        calibration_curve: JSON.stringify(base.calibration_curve),
      })
      .returning(['id', 'version'])
      .executeTakeFirstOrThrow();
    await database.db.transaction().execute((trx) =>
      setAlias(trx, {
        name: LEAD_MODEL,
        alias: 'challenger',
        modelId: worse.id,
        by: 'tester',
        reason: 'test',
        action: 'model.register',
      }),
    );
    await expect(
      promoteModel(database.db, { name: LEAD_MODEL, by: 'tester', reason: 'try', rule }),
    ).rejects.toThrow(/does not beat the champion/);
    expect((await currentAlias(database.db, LEAD_MODEL, 'champion'))!.id).toBe(champion!.id);
  }, 120_000);

  it('rolls back to the previous champion in one step, audited', async () => {
    const champion = await currentAlias(database.db, LEAD_MODEL, 'champion');
    const challenger = await currentAlias(database.db, LEAD_MODEL, 'challenger');
    // Someone made the challenger champion (the alias moves are audited); roll it back.
    await database.db.transaction().execute((trx) =>
      setAlias(trx, {
        name: LEAD_MODEL,
        alias: 'champion',
        modelId: challenger!.id,
        by: 'tester',
        reason: 'manual switch',
        action: 'model.promote',
      }),
    );
    const result = await rollbackModel(database.db, {
      name: LEAD_MODEL,
      by: 'tester',
      reason: 'worse in production',
    });
    expect(result).toEqual({ from: challenger!.version, to: champion!.version });
    expect((await currentAlias(database.db, LEAD_MODEL, 'champion'))!.id).toBe(champion!.id);
    const trail = await database.db
      .selectFrom('audit_log')
      .select(['action', 'reason'])
      .where('subject_type', '=', 'model')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(trail).toEqual({ action: 'model.rollback', reason: 'worse in production' });
    expect((await verifyAuditChain(database.db)).ok).toBe(true);
  });

  it('needs outcomes before training (cold start says how many are missing)', async () => {
    const empty = await createTestDatabase();
    try {
      await expect(trainLeadModel(empty.db, { by: 'tester', until: now })).rejects.toThrow(
        /50 are needed \(50 more\)/,
      );
    } finally {
      await empty.drop();
    }
    const count = await sql<{ n: string }>`select count(*) as n from models`.execute(database.db);
    expect(Number(count.rows[0]!.n)).toBeGreaterThan(0);
  });
});
