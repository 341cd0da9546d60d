// Next-best-action: expected values from documented estimates, argmax, alternatives, dissent from the runner-up.
import { describe, expect, it } from 'vitest';
import {
  ACTION_COST,
  estimateActions,
  NEXT_ACTIONS,
  rankActions,
  type ActionEstimate,
} from '../../src/agents/action-values.ts';
import { hierarchicalRate, smoothRate, withOddsRatio } from '../../src/agents/estimates.ts';
import { chooseNextAction, nbaConfidence, proposeNextAction } from '../../src/agents/nba-agent.ts';
import { proposalSchema } from '../../src/agents/submit-proposal.ts';
import { context, event, NOW, rep } from './fixtures.ts';

const days = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

function estimate(
  action: ActionEstimate['action'],
  expectedValue: number,
  extra: Partial<ActionEstimate> = {},
) {
  return {
    action,
    eligible: true,
    blocked: null,
    probability: 0.2,
    probabilityVariance: 0.001,
    successValue: 100,
    cost: ACTION_COST[action],
    forgone: 0,
    expectedValue,
    variance: 10,
    basis: '',
    ...extra,
  } satisfies ActionEstimate;
}

describe('estimates', () => {
  it('smooths sparse rates toward the wider group', () => {
    expect(smoothRate(0, 0, 0.05, 20).rate).toBeCloseTo(0.05);
    expect(smoothRate(1, 1, 0.05, 20).rate).toBeCloseTo(2 / 21);
    const rate = hierarchicalRate(
      [
        { successes: 50, trials: 1000, strength: 20 },
        { successes: 0, trials: 0, strength: 30 },
        { successes: 3, trials: 4, strength: 8 },
      ],
      0.05,
    );
    expect(rate.rate).toBeGreaterThan(0.05);
    expect(rate.rate).toBeLessThan(0.75);
    expect(withOddsRatio(0.5, 3)).toBeCloseTo(0.75);
  });
});

describe('argmax', () => {
  it('picks the highest expected value among eligible actions and keeps the runner-up', () => {
    const choice = chooseNextAction([
      estimate('email', 50),
      estimate('call', 120),
      estimate('meeting_request', 400, { eligible: false, blocked: 'no way to reach' }),
      estimate('nurture_sequence', 10),
    ])!;
    expect(choice.chosen.action).toBe('call');
    expect(choice.runnerUp!.action).toBe('email');
    expect(choice.ranked.map((e) => e.action)).toEqual(['call', 'email', 'nurture_sequence']);
    // Ties go to the cheaper action.
    expect(rankActions([estimate('call', 10), estimate('email', 10)])[0]!.action).toBe('email');
    expect(chooseNextAction([estimate('email', 5, { eligible: false })])).toBeNull();
  });

  it('keeps a waiting recommendation that is within the margin of the best', () => {
    const estimates = [estimate('call', 100), estimate('email', 97), estimate('nurture_sequence', 50)];
    expect(chooseNextAction(estimates, 'email')!.chosen.action).toBe('email');
    expect(chooseNextAction(estimates, 'email')!.runnerUp!.action).toBe('call');
    expect(chooseNextAction(estimates, 'nurture_sequence')!.chosen.action).toBe('call');
  });

  it('is as confident as the gap between the two best is certain', () => {
    expect(
      nbaConfidence(estimate('call', 100, { variance: 0 }), estimate('email', 50, { variance: 0 })),
    ).toBe(1);
    expect(
      nbaConfidence(estimate('call', 100, { variance: 1e6 }), estimate('email', 99, { variance: 1e6 })),
    ).toBeCloseTo(0.5, 2);
    expect(nbaConfidence(estimate('call', 100), null)).toBe(0.95);
  });
});

describe('next-best-action', () => {
  it('values every action and follows the evidence', () => {
    const owner = rep();
    const replier = context({
      owner,
      probability: 0.3,
      phone: null,
      events: [
        event('email.sent', days(20)),
        event('email.replied', days(19)),
        event('email.sent', days(10)),
        event('email.replied', days(9)),
      ],
    });
    const estimates = estimateActions(replier);
    expect(estimates.map((e) => e.action)).toEqual([...NEXT_ACTIONS]);
    const byAction = Object.fromEntries(estimates.map((e) => [e.action, e]));
    // Two replies out of two: this contact answers emails far above the 5 % everyone does.
    expect(byAction['email']!.probability).toBeGreaterThan(0.15);
    // The contact's phone is unknown and it was never called.
    expect(byAction['call']!.eligible).toBe(false);

    const hot = estimateActions(context({ owner, probability: 0.8, sizeBand: 'enterprise' }));
    expect(rankActions(hot)[0]!.action).toBe('escalate_to_ae');

    const cold = estimateActions(context({ owner, probability: 0.004, sizeBand: 'smb' }));
    expect(rankActions(cold)[0]!.action).toBe('disqualify');
    // Disqualifying an SQL is its AE's decision.
    expect(
      estimateActions(context({ owner, stage: 'sql' })).find((e) => e.action === 'disqualify')!.eligible,
    ).toBe(false);
  });

  it('proposes the argmax with all alternatives and the runner-up as dissent', () => {
    const owner = rep();
    const c = context({ owner, probability: 0.25 });
    const proposal = proposeNextAction(c)!;
    expect(proposalSchema.safeParse(proposal).success).toBe(true);
    const estimates = (proposal.inputs as any).estimates as {
      action: string;
      expected_value: number;
      eligible: boolean;
    }[];
    const best = estimates.filter((e) => e.eligible).sort((a, b) => b.expected_value - a.expected_value);
    expect(proposal.action.params['action']).toBe(best[0]!.action);
    expect(proposal.alternatives).toHaveLength(5);
    expect(proposal.dissent).toContain(Math.round(best[1]!.expected_value).toLocaleString('en-US'));
    expect(proposal.expected_value).toBeCloseTo(best[0]!.expected_value, 0);
    expect(proposal.confidence).toBeGreaterThanOrEqual(0.5);
    expect(proposeNextAction(context({ owner, stage: 'customer' }))).toBeNull();
  });
});
