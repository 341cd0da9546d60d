import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.ts';
import { labelRows } from './dataset.ts';

const rows = (values: unknown[]) => values.map((y, i) => ({ id: i, x: i % 3, y }));

describe('labelRows', () => {
  it('guesses the positive value for 0/1, yes/no and true/false labels', () => {
    expect(labelRows(rows([0, 1, '1', '0']), { label: 'y' })).toMatchObject({ positive: '1' });
    expect(
      Array.from(labelRows(rows(['no', 'yes', 'Yes', 'no']), { label: 'y', positive: 'Yes' }).labels),
    ).toEqual([0, 0, 1, 0]);
    expect(Array.from(labelRows(rows(['no', 'yes']), { label: 'y' }).labels)).toEqual([0, 1]);
    expect(labelRows(rows(['FALSE', 'TRUE']), { label: 'y' }).positive).toBe('TRUE');
    expect(Array.from(labelRows(rows(['1.0', '0']), { label: 'y', positive: '1' }).labels)).toEqual([1, 0]);
  });

  it('leaves out rows without a label and the label and dropped columns from the inputs', () => {
    const data = labelRows(rows(['yes', '', null, 'no']), { label: 'y', drop: ['id'] });
    expect(data.rows).toHaveLength(2);
    expect(data.unlabelled).toBe(2);
    expect(data.inputs).toEqual(['x']);
  });

  it('explains what is wrong with the label', () => {
    const error = (values: unknown[], spec: object) => {
      try {
        labelRows(rows(values), { label: 'y', ...spec });
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        return (e as AppError).message;
      }
      throw new Error('no error');
    };
    expect(error(['a'], { label: 'outcome' })).toMatch(/no column "outcome".*"id", "x", "y"/);
    expect(error(['no', 'no'], {})).toMatch(/only one value \("no"\)/);
    expect(error(['won', 'lost', 'open'], {})).toMatch(/3 values.*--positive/);
    expect(error(['red', 'blue'], {})).toMatch(/"blue" or "red"\? Say it with --positive/);
    expect(error(['no', 'yes'], { positive: 'maybe' })).toMatch(/No row has "maybe".*"no", "yes"/);
    expect(error(['yes', 'yes'], { positive: 'yes' })).toMatch(/both outcomes/);
    expect(error(['no', 'yes'], { drop: ['Tags'] })).toMatch(/Cannot drop "Tags": no such column/);
    expect(error(['', ''], {})).toMatch(/empty in every row/);
  });
});
