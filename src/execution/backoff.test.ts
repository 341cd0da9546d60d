import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, breakerCooldownMs, retryDelayMs } from './backoff.ts';

describe('backoffDelayMs', () => {
  it('stays between 0 and min(cap, base * 2^(attempt-1))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, capMs, r) => {
          const delay = backoffDelayMs(attempt, { baseMs, capMs }, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.max(1, Math.min(capMs, baseMs * 2 ** (attempt - 1))));
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('grows exponentially until the cap, with full jitter', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, { baseMs: 2000, capMs: 600_000 }, top)).toBe(1999);
    expect(backoffDelayMs(4, { baseMs: 2000, capMs: 600_000 }, top)).toBe(15_999);
    expect(backoffDelayMs(30, { baseMs: 2000, capMs: 600_000 }, top)).toBe(599_999);
    expect(backoffDelayMs(3, { baseMs: 2000, capMs: 600_000 }, () => 0)).toBe(0);
  });

  it('honours Retry-After, but never beyond the cap', () => {
    expect(retryDelayMs(1, { baseMs: 10, capMs: 60_000 }, 5000, () => 0.5)).toBe(5000);
    expect(retryDelayMs(1, { baseMs: 10, capMs: 60_000 }, 10 * 60_000, () => 0.5)).toBe(60_000);
  });
});

describe('breakerCooldownMs', () => {
  it('is closed below the threshold and grows (bounded) beyond it', () => {
    const options = { threshold: 5, cooldownMs: 60_000 };
    expect(breakerCooldownMs(4, options)).toBeNull();
    expect(breakerCooldownMs(5, options)).toBe(60_000);
    expect(breakerCooldownMs(6, options)).toBe(120_000);
    expect(breakerCooldownMs(100, options)).toBe(64 * 60_000);
  });
});
