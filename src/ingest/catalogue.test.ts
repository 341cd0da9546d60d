import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloudEventSchema, isCloudEvent } from './catalogue.ts';

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
      null,
      [valid],
      'event',
      42,
    ];
    for (const value of cases)
      expect(isCloudEvent(value), JSON.stringify(value)).toBe(cloudEventSchema.safeParse(value).success);
  });

  it('agrees with the schema on generated envelopes', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.constant('x'.repeat(300)),
      fc.constant('x'.repeat(501)),
    );
    const field = fc.oneof(text, fc.constant(undefined), fc.constant(null), fc.integer());
    fc.assert(
      fc.property(
        fc.record(
          {
            specversion: fc.oneof(fc.constant('1.0'), field),
            id: field,
            source: field,
            type: field,
            time: field,
            subject: field,
            datacontenttype: field,
            dataschema: field,
            data: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        (value) => isCloudEvent(value) === cloudEventSchema.safeParse(value).success,
      ),
      { numRuns: 2000 },
    );
  });
});
