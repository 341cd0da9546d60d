import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.ts';
import { calibrate } from './calibration.ts';
import { rocAuc } from './metrics.ts';
import { loadScorer, trainScorer, type Scorer } from './pipeline.ts';
import { seededRandom } from './random.ts';
import { syntheticLeads } from './synthetic.ts';

const train = syntheticLeads(3000, 1);
const test = syntheticLeads(1000, 2);
const testLabels = test.rows.map((r) => (r['converted'] === 'yes' ? 1 : 0));

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

describe.each(['logistic', 'gbt'] as const)('trainScorer (%s)', (kind) => {
  const scorer = trainScorer({
    rows: train.rows,
    label: 'converted',
    drop: ['created'],
    kind,
    calibration: 'platt',
    seed: 3,
  });

  it('ranks unseen rows nearly as well as the true probabilities do', () => {
    const oracle = rocAuc(testLabels, test.probabilities);
    expect(rocAuc(testLabels, scorer.probabilities(test.rows))).toBeGreaterThan(oracle - 0.03);
    expect(scorer.positive).toBe('yes');
    expect(scorer.columns).toEqual(['visits', 'minutes', 'source', 'country', 'noise']); // id is ignored
  });

  it('explains each prediction exactly, per feature and per column', () => {
    for (const row of test.rows.slice(0, 50)) {
      const prediction = scorer.predict(row);
      const contributions = prediction.contributions.map((c) => c.contribution);
      expect(Math.abs(prediction.base + sum(contributions) - prediction.margin)).toBeLessThan(1e-9);
      const byColumn = prediction.columns.map((c) => c.contribution);
      expect(Math.abs(sum(byColumn) - sum(contributions))).toBeLessThan(1e-9);
      expect(prediction.columns.map((c) => c.feature)).toEqual(scorer.columns);
      expect(prediction.columns.find((c) => c.feature === 'source')!.value).toBe(row['source']);
      expect(prediction.probability).toBeGreaterThan(0);
      expect(prediction.probability).toBeLessThan(1);
    }
  });

  it('gives the same predictions after a JSON round trip', () => {
    const loaded = loadScorer(JSON.parse(JSON.stringify(scorer.toJSON())));
    const rows = test.rows.slice(0, 100);
    expect(loaded.predictMany(rows)).toEqual(scorer.predictMany(rows));
    expect(loaded.probabilities(rows)).toEqual(scorer.probabilities(rows));
    expect(loadScorer(JSON.stringify(scorer)).features).toEqual(scorer.features);
  });

  it('scores rows with unseen categories, missing columns and junk values', () => {
    const odd = [{ source: 'Telepathy', country: 'Mars', visits: 'lots' }, {}];
    for (const row of odd) {
      const p = scorer.predict(row);
      expect(Number.isFinite(p.margin)).toBe(true);
      expect(Math.abs(p.base + sum(p.contributions.map((c) => c.contribution)) - p.margin)).toBeLessThan(
        1e-9,
      );
    }
  });
});

describe('calibration', () => {
  it('is fitted on held-out margins, so an overfit model on pure noise is not trusted', () => {
    const random = seededRandom(7);
    const rows = Array.from({ length: 1500 }, () => ({
      a: random(),
      b: random(),
      c: random(),
      y: random() < 0.3 ? 'yes' : 'no',
    }));
    const overfit = {
      gbt: { iterations: 200, maxLeafNodes: 64, minSamplesLeaf: 1, earlyStopping: false as const },
    };
    const scorer = trainScorer({
      rows,
      label: 'y',
      kind: 'gbt',
      calibration: 'platt',
      params: overfit,
      seed: 1,
    });
    const margins = scorer.margins(rows);
    // On its own training rows the model separates the classes almost perfectly...
    expect(
      rocAuc(
        rows.map((r) => (r.y === 'yes' ? 1 : 0)),
        margins,
      ),
    ).toBeGreaterThan(0.95);
    // ...but the calibrator, fitted out of fold, has learned that the margins mean little.
    const calibrator = scorer.toJSON().calibrator;
    if (calibrator.kind !== 'platt') throw new Error('not platt');
    expect(Math.abs(calibrator.a)).toBeLessThan(0.1);
    const probabilities = Array.from(margins, (m) => calibrate(calibrator, m));
    expect(Math.max(...probabilities) - Math.min(...probabilities)).toBeLessThan(0.3);
  });

  it('isotonic calibration gives probabilities from observed rates', () => {
    const scorer = trainScorer({
      rows: train.rows,
      label: 'converted',
      kind: 'logistic',
      calibration: 'isotonic',
    });
    const p = scorer.probabilities(test.rows);
    expect(Math.min(...p)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...p)).toBeLessThanOrEqual(1);
    expect(scorer.toJSON().calibrator.kind).toBe('isotonic');
  });
});

describe('loadScorer', () => {
  it('rejects what is not a scorer, or a model that does not fit its encoder', () => {
    expect(() => loadScorer({ format: 'something else' })).toThrow(AppError);
    const json = trainScorer({ rows: train.rows, label: 'converted', kind: 'logistic' }).toJSON();
    const broken = { ...json, model: { ...json.model, coefficients: [1, 2] } };
    expect(() => loadScorer(broken)).toThrow(/does not match its encoder/);
    expect(() => loadScorer('{not json')).toThrow(AppError);
  });

  it('loads scorers saved before numeric bins existed', () => {
    const scorer = trainScorer({
      rows: train.rows.slice(0, 500),
      label: 'converted',
      kind: 'logistic',
      params: { encoder: { numericBins: 0 } },
    });
    const json = JSON.parse(JSON.stringify(scorer)) as { encoder: { options: object; columns: object[] } };
    delete (json.encoder.options as { numericBins?: number }).numericBins;
    for (const column of json.encoder.columns) delete (column as { cuts?: number[] }).cuts;
    expect(loadScorer(json).probabilities(test.rows)).toEqual(scorer.probabilities(test.rows));
  });

  it('keeps a stable, JSON-safe shape', () => {
    const scorer: Scorer = trainScorer({
      rows: train.rows.slice(0, 300),
      label: 'converted',
      kind: 'gbt',
      seed: 1,
    });
    const json = scorer.toJSON();
    expect(Object.keys(json).sort()).toEqual(
      ['calibrator', 'encoder', 'format', 'kind', 'label', 'model', 'positive', 'training', 'version'].sort(),
    );
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
