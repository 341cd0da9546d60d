import { describe, expect, it } from 'vitest';
import {
  encodeRow,
  encodeTable,
  featureValue,
  fitEncoder,
  isMissingValue,
  MISSING,
  OTHER,
  parseNumber,
  type Encoder,
  type Row,
} from './encode.ts';
import { matrixRow } from './matrix.ts';

const rows: Row[] = [
  { age: '30', city: 'Pune', note: 'x1', flat: 'same' },
  { age: '', city: 'Pune', note: 'x2', flat: 'same' },
  { age: 'NA', city: 'Delhi', note: 'x3', flat: 'same' },
  { age: 50, city: ' Delhi ', note: 'x4', flat: 'same' },
  { age: '40', city: 'Goa', note: 'x5', flat: 'same' },
  { age: '20', city: null, note: 'x6', flat: 'same' },
];
const labels = [1, 0, 1, 1, 0, 0];

describe('values', () => {
  it('recognises missing values and numbers', () => {
    for (const v of [null, undefined, NaN, '', '  ', 'NA', 'n/a', 'NaN', 'null'])
      expect(isMissingValue(v)).toBe(true);
    for (const v of [0, 'no', 'None', false]) expect(isMissingValue(v)).toBe(false);
    expect(parseNumber(' -1.5e3 ')).toBe(-1500);
    expect(parseNumber('.5')).toBe(0.5);
    for (const v of ['0x10', '1,5', 'abc', '', true, Infinity]) expect(parseNumber(v)).toBeNaN();
  });
});

describe('fitEncoder', () => {
  it('types columns, and ignores constant and identifier-like ones', () => {
    const encoder = fitEncoder(rows, labels, { mode: 'linear', options: { minCategoryCount: 2 } });
    const kinds = Object.fromEntries(encoder.columns.map((c) => [c.name, c.kind]));
    expect(kinds).toEqual({ age: 'numeric', city: 'categorical', note: 'ignored', flat: 'ignored' });
    expect(encoder.columns.find((c) => c.name === 'note')).toMatchObject({
      reason: expect.stringMatching(/identifier/),
    });
  });

  it('reads a column with a stray word among numbers as numeric, the word as missing', () => {
    const values = Array.from({ length: 40 }, (_, i) => ({ n: i === 7 ? 'unknown' : String(i) }));
    const encoder = fitEncoder(values, new Array(40).fill(0), { mode: 'tree' });
    expect(encoder.columns[0]).toMatchObject({ kind: 'numeric', missing: 1 });
    expect(encodeRow(encoder, { n: 'unknown' })[0]).toBeNaN();
  });

  it('linear: standardises numbers with a missing indicator, one-hot categories with (other) and (missing)', () => {
    const encoder = fitEncoder(rows, labels, {
      mode: 'linear',
      columns: ['age', 'city'],
      options: { minCategoryCount: 2, numericBins: 0 },
    });
    expect(encoder.features.map((f) => f.name)).toEqual([
      'age',
      'age=(missing)',
      'city=Delhi',
      'city=Pune',
      'city=(other)',
      'city=(missing)',
    ]);
    const x = encodeTable(encoder, rows);
    const ages = [0, 3, 4, 5].map((i) => x.data[i * x.cols]!);
    expect(ages.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    expect(ages.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 12);
    expect(Array.from(matrixRow(x, 1))).toEqual([0, 1, 0, 1, 0, 0]); // missing age at the mean, Pune
    expect(Array.from(matrixRow(x, 3)).slice(2)).toEqual([1, 0, 0, 0]); // " Delhi " is Delhi
    expect(Array.from(matrixRow(x, 4)).slice(2)).toEqual([0, 0, 1, 0]); // Goa is rare: (other)
    expect(Array.from(matrixRow(x, 5)).slice(2)).toEqual([0, 0, 0, 1]);
    expect(Array.from(encodeRow(encoder, { age: 35, city: 'Mumbai' })).slice(2)).toEqual([0, 0, 1, 0]); // unseen
  });

  it('linear: adds an indicator per quantile bin of a numeric column', () => {
    const values = Array.from({ length: 100 }, (_, i) => ({ n: i < 50 ? -1 : i }));
    const encoder = fitEncoder(values, new Array(100).fill(0), {
      mode: 'linear',
      options: { numericBins: 4 },
    });
    // The quartiles are -1, -1 and 74: half the values are -1, so one cut goes.
    expect(encoder.features.map((f) => f.name)).toEqual(['n', 'n=(-∞, -1]', 'n=(-1, 74]', 'n=(74, ∞)']);
    expect(Array.from(encodeRow(encoder, { n: -1 })).slice(1)).toEqual([1, 0, 0]);
    expect(Array.from(encodeRow(encoder, { n: 74 })).slice(1)).toEqual([0, 1, 0]);
    expect(Array.from(encodeRow(encoder, { n: 1000 })).slice(1)).toEqual([0, 0, 1]);
    expect(encoder.features.map((f) => featureValue(encoder, f, { n: 80 }))).toEqual([80, 0, 0, 1]);
  });

  it('tree: passes numbers through with NaN for missing, and codes categories by their positive rate', () => {
    const many: Row[] = [];
    const y: number[] = [];
    const rates = { low: 0.1, high: 0.9, mid: 0.5 };
    for (const [city, rate] of Object.entries(rates)) {
      for (let i = 0; i < 20; i++) {
        many.push({ city, n: i });
        y.push(i < rate * 20 ? 1 : 0);
      }
    }
    many.push({ city: 'rare', n: '' });
    y.push(1);
    const encoder = fitEncoder(many, y, { mode: 'tree' });
    expect(encoder.features.map((f) => f.name)).toEqual(['city', 'n']);
    const city = encoder.columns[0]!;
    if (city.kind !== 'categorical') throw new Error('not categorical');
    expect(city.levels.indexOf('low')).toBeLessThan(city.levels.indexOf('mid'));
    expect(city.levels.indexOf('mid')).toBeLessThan(city.levels.indexOf('high'));
    expect(city.levels).toContain(OTHER);
    expect(city.levels).toContain(MISSING);
    const code = (value: unknown) => encodeRow(encoder, { city: value, n: 1 })[0];
    expect(code('high')).toBe(city.levels.indexOf('high'));
    expect(code('never seen')).toBe(city.levels.indexOf(OTHER));
    expect(code('')).toBe(city.levels.indexOf(MISSING));
    expect(encodeRow(encoder, { city: 'low', n: '' })[1]).toBeNaN();
  });

  it('is plain JSON and encodes the same after a round trip', () => {
    for (const mode of ['linear', 'tree'] as const) {
      const encoder = fitEncoder(rows, labels, { mode, options: { minCategoryCount: 2 } });
      const copy = JSON.parse(JSON.stringify(encoder)) as Encoder;
      expect(copy).toEqual(encoder);
      expect(encodeTable(copy, rows)).toEqual(encodeTable(encoder, rows));
    }
  });

  it('takes columns of values as well as rows', () => {
    const columns = { age: rows.map((r) => r['age']), city: rows.map((r) => r['city']) };
    const fromColumns = fitEncoder(columns, labels, { mode: 'linear', options: { minCategoryCount: 2 } });
    const fromRows = fitEncoder(rows, labels, {
      mode: 'linear',
      columns: ['age', 'city'],
      options: { minCategoryCount: 2 },
    });
    expect(fromColumns).toEqual(fromRows);
    expect(encodeTable(fromColumns, columns)).toEqual(encodeTable(fromRows, rows));
  });

  it('reports what a row holds for each feature', () => {
    const encoder = fitEncoder(rows, labels, {
      mode: 'linear',
      columns: ['age', 'city'],
      options: { minCategoryCount: 2, numericBins: 0 },
    });
    const row = { age: '', city: 'Goa' };
    expect(encoder.features.map((f) => featureValue(encoder, f, row))).toEqual([null, 1, 0, 0, 1, 0]);
  });
});
