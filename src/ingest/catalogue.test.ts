import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkedDataOf,
  cloudEventSchema,
  EVENT_CATALOGUE,
  isCloudEvent,
  rememberCheckedData,
} from './catalogue.ts';

const valid = {
  specversion: '1.0',
  id: 'e-1',
  source: 'crm',
  type: 'email.opened',
  time: '2026-01-01T00:00:00Z',
  data: { contact: { email: 'a@b.com' } },
};

describe('isCloudEvent', () => {
  it('accepts exactly what cloudEventSchema accepts', () => {
    const cases: unknown[] = [
      valid,
      { ...valid, subject: 'x', datacontenttype: 'application/json', dataschema: 'urn:x', extra: [1] },
      { ...valid, subject: undefined },
      { ...valid, specversion: '0.3' },
      { ...valid, specversion: 1 },
      { ...valid, id: '' },
      { ...valid, id: 'x'.repeat(501) },
      { ...valid, id: 'x'.repeat(500) },
      { ...valid, source: 7 },
      { ...valid, type: 'x'.repeat(301) },
      { ...valid, time: '' },
      { ...valid, time: undefined },
      { ...valid, subject: null },
      { ...valid, subject: 'x'.repeat(501) },
      { ...valid, datacontenttype: 'x'.repeat(201) },
      { ...valid, dataschema: 'x'.repeat(2001) },
      { ...valid, data: undefined },
      { specversion: '1.0', id: 'e-2', source: 'crm', type: 'email.opened', time: '2026-01-01T00:00:00Z' },
      null,
      [valid],
      'event',
      42,
    ];
    for (const value of cases)
      expect(isCloudEvent(value), JSON.stringify(value)).toBe(cloudEventSchema.safeParse(value).success);
  });

  it('agrees with the schema on generated envelopes', () => {
    // Mostly valid envelopes with a field or two made wrong or left out, where the two could disagree.
    const text = fc.oneof(
      { arbitrary: fc.string({ minLength: 1, maxLength: 3 }), weight: 8 },
      { arbitrary: fc.constant(''), weight: 1 },
      { arbitrary: fc.constant('x'.repeat(300)), weight: 1 },
      { arbitrary: fc.constant('x'.repeat(501)), weight: 1 },
    );
    const field = fc.oneof(
      { arbitrary: text, weight: 10 },
      { arbitrary: fc.constantFrom(undefined, null, 7), weight: 1 },
    );
    const keys = [
      'specversion',
      'id',
      'source',
      'type',
      'time',
      'subject',
      'datacontenttype',
      'dataschema',
      'data',
    ];
    const envelope = fc
      .tuple(
        fc.record({
          specversion: fc.oneof(
            { arbitrary: fc.constant('1.0'), weight: 10 },
            { arbitrary: field, weight: 1 },
          ),
          id: field,
          source: field,
          type: field,
          time: field,
          subject: field,
          datacontenttype: field,
          dataschema: field,
          data: fc.anything(),
        }),
        fc.subarray(keys, { maxLength: 3 }),
      )
      .map(([event, absent]) => {
        const copy: Record<string, unknown> = { ...event };
        for (const key of absent) delete copy[key];
        return copy;
      });
    fc.assert(
      fc.property(envelope, (value) => isCloudEvent(value) === cloudEventSchema.safeParse(value).success),
      { numRuns: 5000 },
    );
  });
});

describe('data checked by its maker', () => {
  it('is trusted for that very object and type only', () => {
    const data = { contact: { email: 'a@acme.com' } };
    const parsed = EVENT_CATALOGUE['email.opened'].parse(data);
    rememberCheckedData('email.opened', data, parsed);
    expect(checkedDataOf('email.opened', data)).toBe(parsed);
    expect(checkedDataOf('email.clicked', data)).toBeUndefined();
    expect(checkedDataOf('email.opened', { ...data })).toBeUndefined();
    expect(checkedDataOf('email.opened', null)).toBeUndefined();
  });
});
