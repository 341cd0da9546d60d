// Routing, pure: territory rules, win rates smoothed toward the team, the batch respecting capacity and the
// fairness cap, and the optimum beating first-come on the same batch.
import { describe, expect, it } from 'vitest';
import {
  planRouting,
  proposeRoutingBatch,
  segmentWinRate,
  territoryMatches,
} from '../../src/agents/routing-agent.ts';
import { proposalSchema } from '../../src/agents/submit-proposal.ts';
import { context, environment, rep } from './fixtures.ts';

describe('territory rules', () => {
  it('matches every rule present, case-insensitively; no territory never matches', () => {
    const account = { region: 'EMEA', country: 'DE', industry: 'software', sizeBand: 'smb' };
    expect(territoryMatches({ regions: ['emea'] }, account, { country: null })).toBe(true);
    expect(
      territoryMatches({ regions: ['EMEA'], size_bands: ['enterprise'] }, account, { country: null }),
    ).toBe(false);
    expect(
      territoryMatches({ countries: ['FR', 'DE'], industries: ['software'] }, account, { country: null }),
    ).toBe(true);
    expect(territoryMatches({}, account, { country: null })).toBe(true);
    expect(territoryMatches(null, account, { country: null })).toBe(false);
    expect(territoryMatches({ countries: ['US'] }, null, { country: 'US' })).toBe(true);
    expect(territoryMatches({ regions: ['NA'] }, null, { country: 'US' })).toBe(false);
  });
});

describe('rep-segment fit', () => {
  it('pulls a rep with little history toward the team', () => {
    const a = rep({ teamId: 't' });
    const env = environment({
      reps: [a],
      winRecords: {
        byRep: new Map([[a.id, new Map([['smb', { won: 2, closed: 2 }]])]]),
        byTeam: new Map([['t', new Map([['smb', { won: 10, closed: 40 }]])]]),
        global: new Map([['smb', { won: 10, closed: 40 }]]),
      },
    });
    const fit = segmentWinRate(env, a, 'smb');
    expect(fit.teamRate).toBeLessThan(0.3);
    expect(fit.rate).toBeGreaterThan(fit.teamRate);
    expect(fit.rate).toBeLessThan(0.5);
  });
});

describe('batch routing', () => {
  it('respects territory, capacity and the fairness cap, and beats greedy', () => {
    // Two NA reps: "star" wins enterprise deals far more often (smb a little more) but has room for one more lead.
    const star = rep({ name: 'Star', capacity: 11, load: 10, teamId: 't' });
    const steady = rep({ name: 'Steady', capacity: 50, load: 45, teamId: 't' });
    const emea = rep({ name: 'Emea', territoryRules: { regions: ['EMEA'] }, teamId: 't' });
    const env = environment({
      reps: [star, steady, emea],
      winRecords: {
        byRep: new Map([
          [
            star.id,
            new Map([
              ['enterprise', { won: 18, closed: 30 }],
              ['smb', { won: 10, closed: 30 }],
            ]),
          ],
          [
            steady.id,
            new Map([
              ['enterprise', { won: 6, closed: 30 }],
              ['smb', { won: 9, closed: 30 }],
            ]),
          ],
        ]),
        byTeam: new Map(),
        global: new Map(),
      },
    });
    // The small lead comes first: greedy gives it the star's last slot; the enterprise lead needs the star more.
    const small = context({ env, sizeBand: 'smb', probability: 0.3 });
    const big = context({ env, sizeBand: 'enterprise', probability: 0.3 });
    const others = Array.from({ length: 6 }, () =>
      context({ env, sizeBand: 'mid_market', probability: 0.05 }),
    );
    const plan = planRouting([small, big, ...others], env);
    expect(plan.optimal.totalCost).toBeLessThan(plan.greedy.totalCost);
    const starIndex = plan.reps.indexOf(star);
    expect(plan.optimal.assignment[1]).toBe(starIndex);
    expect(plan.greedy.assignment[0]).toBe(starIndex);
    expect(plan.optimal.assignment.filter((j) => j === starIndex)).toHaveLength(1);
    // Fairness: at most a quarter of the batch of 8 (2) per rep; so two leads wait.
    expect(plan.fairnessCap).toBe(2);
    expect(plan.optimal.assignment.filter((j) => j !== null)).toHaveLength(3);
    expect(plan.optimal.assignment.every((j) => j !== plan.reps.indexOf(emea))).toBe(true);
    expect(plan.skipped.filter((s) => /capacity|fairness/.test(s.reason))).toHaveLength(5);

    const batch = proposeRoutingBatch([small, big, ...others]);
    expect(batch.proposals).toHaveLength(3);
    for (const p of batch.proposals) expect(proposalSchema.safeParse(p).success).toBe(true);
    const bigProposal = batch.proposals.find((p) => p.subject_id === big.contact.id)!;
    expect(bigProposal.action.params).toMatchObject({ owner_id: star.id, previous_owner_id: null });
    const smallProposal = batch.proposals.find((p) => p.subject_id === small.contact.id)!;
    expect(smallProposal.action.params['owner_id']).toBe(steady.id);
    expect(smallProposal.dissent.length).toBeGreaterThan(20);
  });

  it('prefers the account owner and skips leads that have an owner or no territory', () => {
    const a = rep({ name: 'A' });
    const b = rep({ name: 'B' });
    const env = environment({ reps: [a, b] });
    const lead = context({ env, accountOwnerId: b.id });
    const owned = context({ env, owner: a });
    const nowhere = context({ env, region: 'APAC', country: 'JP' });
    const result = proposeRoutingBatch([lead, owned, nowhere]);
    expect(result.proposals).toHaveLength(1);
    expect(result.proposals[0]!.action.params['owner_id']).toBe(b.id);
    expect(result.skipped.map((s) => s.reason)).toEqual([
      'already has an owner',
      expect.stringContaining('no active rep'),
    ]);
  });
});
