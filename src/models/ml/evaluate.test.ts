import { describe, expect, it } from 'vitest';
import { evaluate, ROW_ORDER } from './evaluate.ts';
import { rocAuc } from './metrics.ts';
import { syntheticLeads } from './synthetic.ts';

const { rows, probabilities } = syntheticLeads(2500, 11);
const labels = rows.map((r) => (r['converted'] === 'yes' ? 1 : 0));

describe('evaluate', () => {
  it('cross-validates each model out of fold and reports every figure', () => {
    const progress: number[] = [];
    const result = evaluate({
      rows,
      label: 'converted',
      drop: ['id'],
      folds: 3,
      seed: 1,
      onProgress: (p) => progress.push(p.done),
    });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({ label: 'converted', positive: 'yes', rows: 2500, testRows: 2500 });
    expect(result.split).toEqual({ kind: 'stratified-k-fold', folds: 3, seed: 1 });
    expect(result.columns.ignored.map((c) => c.name)).toEqual(['created']); // a unique timestamp per row
    const oracle = rocAuc(labels, probabilities);
    // The generator is linear in the log-odds: on 1,667 training rows trees approximate it less well, and the
    // bin indicators of the linear encoding cost a little.
    const [logistic, gbt] = result.models;
    expect(logistic!.rocAuc).toBeGreaterThan(oracle - 0.025);
    expect(gbt!.rocAuc).toBeGreaterThan(oracle - 0.06);
    for (const model of result.models) {
      expect(model.rocAuc).toBeLessThan(oracle + 0.02);
      expect(model.rocAucFolds).toHaveLength(3);
      expect(model.prAuc).toBeGreaterThan(result.baseRate);
      expect(model.ece).toBeLessThan(0.05);
      expect(model.liftAt10).toBeGreaterThan(1.5);
      expect(model.brier).toBeLessThan(result.baseRate * (1 - result.baseRate));
      expect(model.calibrationTable.reduce((n, bin) => n + bin.count, 0)).toBe(2500);
    }
  });

  it('holds out the latest rows when asked for a time-ordered split, without the order column as input', () => {
    const reversed = [...rows].reverse();
    const byColumn = evaluate({
      rows: reversed,
      label: 'converted',
      orderBy: 'created',
      kinds: ['logistic'],
    });
    const byRow = evaluate({ rows, label: 'converted', orderBy: ROW_ORDER, kinds: ['logistic'] });
    expect(byColumn.split).toMatchObject({ kind: 'time-ordered-holdout', trainRows: 2000, testRows: 500 });
    expect(byColumn.testRows).toBe(500);
    expect(byColumn.columns.used.map((c) => c.name)).not.toContain('created');
    expect(byColumn.models[0]!.rocAuc).toBeCloseTo(byRow.models[0]!.rocAuc, 12);
  });

  it('leaves out rows without a value in the order column, and says how many', () => {
    const some = rows.map((row, i) => (i % 10 === 0 ? { ...row, created: '' } : row));
    const result = evaluate({ rows: some, label: 'converted', orderBy: 'created', kinds: ['logistic'] });
    expect(result.split).toMatchObject({ unorderedRows: 250, trainRows: 1800, testRows: 450 });
    expect(result.rows).toBe(2250);
  });

  it('names the columns when the order column does not exist', () => {
    expect(() => evaluate({ rows, label: 'converted', orderBy: 'when' })).toThrow(
      /no column "when".*"created"/,
    );
  });
});
