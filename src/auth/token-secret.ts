import { createHash, randomBytes } from 'node:crypto';

/** A token is "fg_" + 43 base64url characters (256 random bits); only its SHA-256 is stored. */
export function generateTokenSecret(): string {
  return `fg_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function displayPrefix(token: string): string {
  return token.slice(0, 10);
}
