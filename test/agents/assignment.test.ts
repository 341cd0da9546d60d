// The batch optimiser: exact on brute-forced small cases, never worse than first-come greedy, and strictly
// better on a case built to trap greedy.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  greedyAssignment,
  solveAssignment,
  summarize,
  type AssignmentProblem,
} from '../../src/agents/assignment.ts';

/** Every partial assignment within capacities; the least total cost (unplaced costs 0). */
function bruteForce(problem: AssignmentProblem): number {
  const left = [...problem.capacities];
  let best = 0;
  const visit = (i: number, cost: number) => {
    if (i === problem.costs.length) {
      best = Math.min(best, cost);
      return;
    }
    visit(i + 1, cost);
    problem.costs[i]!.forEach((c, j) => {
      if (c === null || left[j]! <= 0) return;
      left[j]!--;
      visit(i + 1, cost + c);
      left[j]!++;
    });
  };
  visit(0, 0);
  return best;
}

describe('assignment', () => {
  it('beats greedy first-come on a constructed case', () => {
    // Lead 0 arrives first and likes rep 0 slightly better; lead 1 is only worth much with rep 0.
    const problem: AssignmentProblem = {
      costs: [
        [-10, -9],
        [-8, -1],
      ],
      capacities: [1, 1],
    };
    const greedy = greedyAssignment(problem);
    const optimal = solveAssignment(problem);
    expect(greedy.assignment).toEqual([0, 1]);
    expect(greedy.totalCost).toBe(-11);
    expect(optimal.assignment).toEqual([1, 0]);
    expect(optimal.totalCost).toBe(-17);
  });

  it('respects capacities and forbidden pairings', () => {
    const problem: AssignmentProblem = {
      costs: [
        [-5, null, -1],
        [-4, null, null],
        [-6, -2, null],
        [null, -3, -3],
      ],
      capacities: [1, 1, 0],
    };
    const optimal = solveAssignment(problem);
    const perRep = [0, 0, 0];
    optimal.assignment.forEach((j, i) => {
      if (j === null) return;
      expect(problem.costs[i]![j]).not.toBeNull();
      perRep[j]!++;
    });
    expect(perRep[0]).toBeLessThanOrEqual(1);
    expect(perRep[1]).toBeLessThanOrEqual(1);
    expect(perRep[2]).toBe(0);
    expect(optimal.totalCost).toBe(bruteForce(problem));
  });

  it('leaves a lead unplaced rather than at a positive cost', () => {
    const optimal = solveAssignment({ costs: [[3], [-2]], capacities: [5] });
    expect(optimal.assignment).toEqual([null, 0]);
  });

  it('is exact (brute force) and never worse than greedy on random instances', () => {
    const instance = fc
      .record({ leads: fc.integer({ min: 1, max: 5 }), reps: fc.integer({ min: 1, max: 3 }) })
      .chain(({ leads, reps }) =>
        fc.record({
          costs: fc.array(
            fc.array(fc.option(fc.integer({ min: -100, max: 20 }), { nil: null, freq: 4 }), {
              minLength: reps,
              maxLength: reps,
            }),
            { minLength: leads, maxLength: leads },
          ),
          capacities: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: reps, maxLength: reps }),
        }),
      );
    fc.assert(
      fc.property(instance, (problem) => {
        const optimal = solveAssignment(problem);
        const greedy = greedyAssignment(problem);
        expect(optimal.totalCost).toBeCloseTo(bruteForce(problem), 9);
        expect(optimal.totalCost).toBeLessThanOrEqual(greedy.totalCost + 1e-9);
        // The reported total is the total of the reported assignment.
        expect(summarize(problem, optimal.assignment).totalCost).toBeCloseTo(optimal.totalCost, 9);
        const used = problem.capacities.map(() => 0);
        for (const j of optimal.assignment) if (j !== null) used[j]!++;
        used.forEach((u, j) => expect(u).toBeLessThanOrEqual(problem.capacities[j]!));
      }),
      { numRuns: 500 },
    );
  });

  it('solves a batch of 500 leads and 40 reps quickly', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const costs = Array.from({ length: 500 }, () =>
      Array.from({ length: 40 }, () => (random() < 0.3 ? -Math.round(random() * 10_000) : null)),
    );
    const problem = { costs, capacities: Array.from({ length: 40 }, () => 10) };
    const started = performance.now();
    const optimal = solveAssignment(problem);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(optimal.totalCost).toBeLessThanOrEqual(greedyAssignment(problem).totalCost);
  });
});
