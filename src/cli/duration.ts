import { AppError } from '../errors.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** "90m", "12h", "30d", "2w" -> milliseconds. */
export function parseDuration(text: string, flag = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!match) {
    throw new AppError('validation_failed', `${flag} must look like 90m, 12h, 30d or 2w (got "${text}")`, {
      field: flag,
    });
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
