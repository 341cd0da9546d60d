// The qualification rule: thresholds, staleness, confidence from the calibrated score, and the proposal shape.
import { describe, expect, it } from 'vitest';
import { proposalSchema } from '../../src/agents/submit-proposal.ts';
import fc from 'fast-check';
import {
  decideQualification,
  DISQUALIFY_BELOW,
  handoffCost,
  isStale,
  outcomeValue,
  proposeQualification,
  qualificationConfidence,
  SQL_THRESHOLD,
  STALE_AFTER_DAYS,
} from '../../src/agents/qualification-agent.ts';
import { context, event, NOW } from './fixtures.ts';

const days = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

describe('qualification rule', () => {
  it('promotes at the SQL threshold, nurtures below it', () => {
    const base = { stage: 'lead', daysSilent: 2, daysKnown: 30 };
    expect(decideQualification({ ...base, probability: SQL_THRESHOLD })).toBe('sql');
    expect(decideQualification({ ...base, probability: SQL_THRESHOLD - 0.001 })).toBe('nurture');
    expect(decideQualification({ ...base, probability: 0.1, stage: 'mql' })).toBe('nurture');
  });

  it('disqualifies only when very low and stale', () => {
    const low = DISQUALIFY_BELOW / 2;
    expect(
      decideQualification({ probability: low, stage: 'lead', daysSilent: STALE_AFTER_DAYS, daysKnown: 90 }),
    ).toBe('disqualified');
    expect(decideQualification({ probability: low, stage: 'lead', daysSilent: 10, daysKnown: 90 })).toBe(
      'nurture',
    );
    // Never engaged, but only known for a week: too new to call stale.
    expect(decideQualification({ probability: low, stage: 'lead', daysSilent: null, daysKnown: 7 })).toBe(
      'nurture',
    );
    expect(decideQualification({ probability: low, stage: 'lead', daysSilent: null, daysKnown: 60 })).toBe(
      'disqualified',
    );
    expect(
      decideQualification({ probability: DISQUALIFY_BELOW, stage: 'lead', daysSilent: 200, daysKnown: 200 }),
    ).toBe('nurture');
  });

  it('keeps a waiting outcome while the score hovers at its threshold', () => {
    const base = { stage: 'lead', daysSilent: 2, daysKnown: 30 };
    expect(decideQualification({ ...base, probability: 0.49, pending: 'sql' })).toBe('sql');
    expect(decideQualification({ ...base, probability: 0.47, pending: 'sql' })).toBe('nurture');
    expect(decideQualification({ ...base, probability: 0.51, pending: 'nurture' })).toBe('nurture');
    expect(decideQualification({ ...base, probability: 0.53, pending: 'nurture' })).toBe('sql');
    const stale = { stage: 'lead', daysSilent: 90, daysKnown: 90 };
    expect(decideQualification({ ...stale, probability: 0.032, pending: 'disqualified' })).toBe(
      'disqualified',
    );
    expect(decideQualification({ ...stale, probability: 0.028, pending: 'nurture' })).toBe('nurture');
    expect(decideQualification({ ...stale, probability: 0.02, pending: 'nurture' })).toBe('disqualified');
  });

  it('says nothing outside lead and mql', () => {
    for (const stage of ['sql', 'opportunity', 'customer', 'disqualified']) {
      expect(decideQualification({ probability: 0.9, stage, daysSilent: 1, daysKnown: 1 })).toBeNull();
    }
  });

  it('takes confidence from the calibrated score and distrusts the prior', () => {
    expect(qualificationConfidence('sql', 0.8, false)).toBeCloseTo(0.8);
    expect(qualificationConfidence('nurture', 0.2, false)).toBeCloseTo(0.8);
    expect(qualificationConfidence('sql', 0.8, true)).toBeCloseTo(0.65);
  });

  it('values outcomes from probability x deal value, with the costs the thresholds imply', () => {
    // A premature hand-off implies a tenth of the deal: 0.6 x 10,000 - 0.4 x 1,000.
    expect(handoffCost(10_000, false)).toBeCloseTo(1000);
    expect(outcomeValue('sql', 0.6, 10_000)).toBeCloseTo(5600);
    expect(outcomeValue('disqualified', 0.01, 10_000)).toBeCloseTo(20);
    // At the thresholds the neighbouring outcomes are worth the same.
    for (const stale of [false, true]) {
      expect(outcomeValue('sql', SQL_THRESHOLD, 30_000, stale)).toBeCloseTo(
        outcomeValue('nurture', SQL_THRESHOLD, 30_000, stale),
      );
    }
    expect(outcomeValue('nurture', DISQUALIFY_BELOW, 30_000, true)).toBeCloseTo(
      outcomeValue('disqualified', DISQUALIFY_BELOW, 30_000, true),
    );
  });

  it('always chooses the outcome of highest expected value', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1000, max: 500_000 }),
        fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }),
        fc.integer({ min: 0, max: 400 }),
        (probability, deal, daysSilent, daysKnown) => {
          const input = { probability, stage: 'lead', daysSilent, daysKnown };
          const chosen = decideQualification(input)!;
          const stale = isStale(input);
          const best = Math.max(
            ...(['sql', 'nurture', 'disqualified'] as const).map((o) =>
              outcomeValue(o, probability, deal, stale),
            ),
          );
          expect(outcomeValue(chosen, probability, deal, stale)).toBeGreaterThanOrEqual(best - 1e-6 * deal);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('qualification proposal', () => {
  it('carries every required field and a stable reason', () => {
    const c = context({ probability: 0.7, events: [event('web.page_viewed', days(1))] });
    const proposal = proposeQualification(c)!;
    expect(proposalSchema.safeParse(proposal).success).toBe(true);
    expect(proposal.action.params).toMatchObject({ to_stage: 'sql', contact_id: c.contact.id });
    expect(proposal.confidence).toBeCloseTo(0.7);
    expect(proposal.expected_value).toBeCloseTo(0.7 * 45_000 - 0.3 * 4500, 1);
    expect(proposal.dissent).toMatch(/30 %/);
    expect(proposal.mitigations.length).toBeGreaterThan(0);
    expect(proposal.alternatives!.map((a) => a.action)).toEqual([
      'lead.qualify:nurture',
      'lead.qualify:disqualified',
    ]);
    expect(proposal.explanation.for![0]!.phrase).toBe('visited pricing 2 times in 14 days');
    const inputs = proposal.inputs as Record<string, any>;
    expect(inputs['feature_snapshot']).toEqual({ pricing_views_14d: 2, days_since_last_touch: 9 });
    expect(inputs['model']).toMatchObject({ version: 3, is_prior: false });
    expect(inputs['event_ids']).toHaveLength(1);
    expect(proposal.facts).toMatchObject({ segment: 'mid_market', account_tier: 'A', model_age_days: 3 });
    // A small rescore inside the band proposes exactly the same action.
    expect(proposeQualification(context({ probability: 0.72 }))!.action.params['reason']).toBe(
      proposal.action.params['reason'],
    );
  });

  it('disqualifies a silent lead with the silence as a reason, and proposes nothing without a score', () => {
    const silent = context({
      probability: 0.01,
      events: [event('email.opened', days(80))],
      stageAt: days(120),
    });
    const proposal = proposeQualification(silent)!;
    expect(proposal.action.params['to_stage']).toBe('disqualified');
    expect(proposal.explanation.for!.map((f) => f.phrase)).toContain('last engaged 80 days ago');
    expect(proposeQualification(context({ probability: null }))).toBeNull();
    expect(proposeQualification(context({ probability: 0.9, stage: 'sql' }))).toBeNull();
  });
});
