import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { evaluateGate, parsePolicy, type GateFacts } from './policy.ts';
import { DEFAULT_POLICY_FILE } from './policies.ts';

const facts = (over: Partial<GateFacts> = {}): GateFacts => ({
  action_type: 'lead.assign_owner',
  params: {},
  confidence: 0.9,
  expected_value: 1000,
  deal_size: null,
  risk: null,
  account_tier: null,
  segment: 'smb',
  model_age_days: 3,
  monitoring: 'ok',
  ...over,
});

const policy = parsePolicy(`
defaults: { outcome: review, review: { approvals: 1, deadline: 24h } }
max_model_age_days: 14
rules:
  - name: block-enterprise-disqualify
    when: { action_type: [lead.qualify], params: { to_stage: disqualified }, segment: [enterprise] }
    then: { outcome: block, reason: no }
  - name: four-eyes
    when: { deal_size_at_least: 50000 }
    then: { outcome: review, review: { approvals: 2, role: reviewer, deadline: 8h, on_deadline: deny } }
  - name: auto-routing
    when: { action_type: [lead.assign_owner], confidence_at_least: 0.6 }
    then: { outcome: auto }
`);

describe('the gate', () => {
  it('executes a confident routing automatically', () => {
    expect(evaluateGate(policy, facts(), false)).toEqual({ outcome: 'auto', rule: 'auto-routing' });
  });

  it('takes the first matching rule: a big deal needs two approvers even for routing', () => {
    const outcome = evaluateGate(policy, facts({ deal_size: 80_000 }), false);
    expect(outcome).toMatchObject({
      outcome: 'review',
      rule: 'four-eyes',
      review: { approvals: 2, on_deadline: 'deny', deadline: 8 * 3_600_000 },
    });
  });

  it('blocks what the policy forbids', () => {
    const outcome = evaluateGate(
      policy,
      facts({ action_type: 'lead.qualify', params: { to_stage: 'disqualified' }, segment: 'enterprise' }),
      false,
    );
    expect(outcome.outcome).toBe('block');
  });

  it('fails closed: a missing fact never satisfies a condition, no rule means review, no policy means review', () => {
    expect(evaluateGate(policy, facts({ confidence: Number.NaN }), false).outcome).toBe('review');
    expect(evaluateGate(policy, facts({ action_type: 'nba.recommend' }), false)).toMatchObject({
      outcome: 'review',
      rule: null,
    });
    expect(evaluateGate(null, facts(), false).outcome).toBe('review');
  });

  it('sends everything automatic to review when the breaker is open, the model is stale, or monitoring alarms', () => {
    expect(evaluateGate(policy, facts(), true)).toMatchObject({
      outcome: 'review',
      note: expect.stringMatching(/circuit breaker/),
    });
    expect(evaluateGate(policy, facts({ model_age_days: 40 }), false)).toMatchObject({
      outcome: 'review',
      note: expect.stringMatching(/40 days old/),
    });
    expect(evaluateGate(policy, facts({ monitoring: 'alarm' }), false).outcome).toBe('review');
  });

  it('rejects invalid documents with the path of every problem', () => {
    expect(() =>
      parsePolicy('rules: [{ name: x, when: { confidence_at_least: 2 }, then: { outcome: auto } }]'),
    ).toThrow(/rules.0.when.confidence_at_least/);
    expect(() => parsePolicy('defaults: { outcome: auto }')).toThrow(/defaults.outcome/);
    expect(() =>
      parsePolicy('rules: [{ name: a, then: { outcome: auto } }, { name: a, then: { outcome: auto } }]'),
    ).toThrow(/unique/);
    expect(() =>
      parsePolicy('rules: [{ name: x, when: { action_type: [lead.fly] }, then: { outcome: auto } }]'),
    ).toThrow(/action_type/);
    expect(() => parsePolicy('unknown_key: 1')).toThrow(/unknown_key|Unrecognized/);
  });

  it('ships a default policy that parses', () => {
    const shipped = parsePolicy(readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
    expect(shipped.rules.length).toBeGreaterThan(3);
    expect(shipped.defaults.outcome).toBe('review');
  });
});
