// Who may do what, in one table. Routes and commands name an access level; nothing else checks roles.
import { z } from 'zod';

export const ROLES = ['admin', 'policy_owner', 'reviewer', 'analyst', 'ingest', 'rep'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/**
 * Access levels. `public` is for health checks only; `authenticated` is any valid token.
 * Humans with any role can read (analyst is the read-only role); machines (`ingest`) can only write events.
 */
export const ACCESS = {
  public: [],
  /** No token: the route authenticates the request itself (webhook HMAC signatures). */
  signed: [],
  authenticated: ROLES,
  read: ['admin', 'policy_owner', 'reviewer', 'analyst', 'rep'],
  ingest: ['admin', 'ingest'],
  review: ['admin', 'reviewer', 'policy_owner'],
  policy: ['admin', 'policy_owner'],
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Access = keyof typeof ACCESS;

export function isAllowed(access: Access, roles: readonly string[]): boolean {
  if (access === 'public' || access === 'signed') return true;
  const allowed: readonly string[] = ACCESS[access];
  return roles.some((role) => allowed.includes(role));
}
