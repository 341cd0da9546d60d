import { describe, expect, it } from 'vitest';
import { copyField, copyRow, copyTextArray } from './copy-text.ts';

describe('COPY text format', () => {
  it('escapes what the format gives a meaning to, and nothing else', () => {
    expect(copyField('plain text, with "quotes" and \'apostrophes\'')).toBe(
      'plain text, with "quotes" and \'apostrophes\'',
    );
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    // The text "\N" is a value, not null.
    expect(copyField('\\N')).toBe('\\\\N');
  });

  it('writes text arrays with every element quoted', () => {
    expect(copyTextArray([])).toBe('{}');
    expect(copyTextArray(['email:a@b.com', 'crm:x:1'])).toBe('{"email:a@b.com","crm:x:1"}');
    // Element quoting first ("a\"b" and "c\\d"), then the field's own escaping doubles each backslash.
    expect(copyTextArray(['a"b', 'c\\d'])).toBe('{"a\\\\"b","c\\\\\\\\d"}');
    expect(copyTextArray(['null', 'x,y'])).toBe('{"null","x,y"}');
  });

  it('escapes array elements with tabs or newlines for the field as well', () => {
    expect(copyTextArray(['a\tb', 'c\nd'])).toBe('{"a\\tb","c\\nd"}');
  });

  it('joins a row with tabs and ends it with a newline', () => {
    expect(copyRow(['1', '\\N', 'x'])).toBe('1\t\\N\tx\n');
  });
});
