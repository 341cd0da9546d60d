// API tokens: shown once, stored as a hash, scoped to some of the user's roles, revocable, expiring.
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ApiToken } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { roleSchema, type Role } from './roles.ts';
import { displayPrefix, generateTokenSecret, hashToken } from './token-secret.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { createUser, findUserByEmail } from './users.ts';

export interface Principal {
  userId: string;
  email: string;
  name: string;
  tokenId: string;
  roles: Role[];
}

export const tokenInputSchema = z.object({
  user_id: z.uuid(),
  name: z.string().trim().min(1).max(100).default('api'),
  roles: z
    .array(roleSchema)
    .min(1, 'give at least one role')
    .optional()
    .describe("Roles this token carries; must be roles the user has. Defaults to all of the user's roles."),
  expires_at: z.coerce.date().optional().describe('When the token stops working; default: never'),
});
export type TokenInput = z.input<typeof tokenInputSchema>;

export const tokenViewSchema = z.object({
  id: z.uuid(),
  user_id: z.uuid(),
  name: z.string(),
  display_prefix: z.string(),
  roles: z.array(z.string()),
  created_at: z.date(),
  expires_at: z.date().nullable(),
  last_used_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
});
export type TokenView = z.infer<typeof tokenViewSchema>;

export function toTokenView(token: ApiToken): TokenView {
  const { id, user_id, name, display_prefix, roles, created_at, expires_at, last_used_at, revoked_at } =
    token;
  return { id, user_id, name, display_prefix, roles, created_at, expires_at, last_used_at, revoked_at };
}

export async function createToken(
  db: Db,
  input: TokenInput,
  options: { createdBy?: string | null; secret?: string } = {},
): Promise<{ token: string; record: ApiToken }> {
  const data = tokenInputSchema.parse(input);
  const user = await db.selectFrom('users').selectAll().where('id', '=', data.user_id).executeTakeFirst();
  if (!user) throw new AppError('not_found', `No user with id ${data.user_id}`);
  if (!user.active) throw new AppError('conflict', `User ${user.email} is deactivated; reactivate it first`);
  const roles = data.roles ?? (user.roles as Role[]);
  const missing = roles.filter((role) => !user.roles.includes(role));
  if (missing.length > 0) {
    throw new AppError(
      'forbidden',
      `User ${user.email} does not have the role(s) ${missing.join(', ')} (has: ${user.roles.join(', ') || 'none'}). ` +
        'Grant the role to the user first.',
      { field: 'roles', missing },
    );
  }
  if (data.expires_at && data.expires_at.getTime() <= Date.now()) {
    throw new AppError('validation_failed', 'expires_at must be in the future', { field: 'expires_at' });
  }
  const token = options.secret ?? generateTokenSecret();
  const record = await db
    .insertInto('api_tokens')
    .values({
      user_id: user.id,
      name: data.name,
      token_hash: hashToken(token),
      display_prefix: displayPrefix(token),
      roles,
      created_by: options.createdBy ?? null,
      expires_at: data.expires_at ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, record };
}

/** Resolves a presented token to its principal, or undefined when it is unknown, revoked, expired or inactive. */
export async function authenticateToken(db: Db, token: string): Promise<Principal | undefined> {
  if (!token || token.length > 512) return undefined;
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id as tokenId', 't.roles', 't.expires_at', 't.revoked_at', 't.last_used_at'])
    .select(['u.id as userId', 'u.email', 'u.name', 'u.active', 'u.roles as userRoles'])
    .where('t.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at || !row.active) return undefined;
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) return undefined;
  // Roles taken away from the user also leave their tokens.
  const roles = row.roles.filter((role) => row.userRoles.includes(role)) as Role[];
  // One write a minute per token is enough for "last used"; a write per request would not be.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: new Date() })
      .where('id', '=', row.tokenId)
      .execute();
  }
  return { userId: row.userId, email: row.email, name: row.name, tokenId: row.tokenId, roles };
}

export async function revokeToken(db: Db, tokenId: string, revokedBy: string | null): Promise<ApiToken> {
  const record = await db
    .updateTable('api_tokens')
    .set({
      revoked_at: sql`coalesce(revoked_at, now())`,
      revoked_by: sql`coalesce(revoked_by, ${revokedBy})`,
    })
    .where('id', '=', tokenId)
    .returningAll()
    .executeTakeFirst();
  if (!record) throw new AppError('not_found', `No token with id ${tokenId}`);
  return record;
}

export async function listTokens(
  db: Db,
  filter: { userId?: string; includeRevoked?: boolean },
): Promise<ApiToken[]> {
  let query = db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc');
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (!filter.includeRevoked) query = query.where('revoked_at', 'is', null);
  return query.execute();
}

export const FIRST_ADMIN_EMAIL = 'admin@funnelgate.local';

/**
 * On the first start there is nobody to sign in as: create an admin and a token for it, once. Several processes
 * may start together, so the check and the insert happen under an advisory lock.
 */
export async function ensureFirstAdmin(
  db: Db,
  bootstrapToken: string | undefined,
): Promise<{ created: false } | { created: true; email: string; token: string }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('funnelgate:first-admin'))`.execute(trx);
    const anyAdmin = await trx
      .selectFrom('users')
      .select('id')
      .where(sql<boolean>`'admin' = any(roles)`)
      .limit(1)
      .executeTakeFirst();
    if (anyAdmin) return { created: false } as const;
    const user =
      (await findUserByEmail(trx, FIRST_ADMIN_EMAIL)) ??
      (await createUser(trx, { email: FIRST_ADMIN_EMAIL, name: 'Administrator', roles: ['admin'] }));
    const { token, record } = await createToken(
      trx,
      { user_id: user.id, name: 'first admin' },
      bootstrapToken ? { secret: bootstrapToken } : {},
    );
    await appendAudit(trx, {
      actor: 'system',
      action: 'token.create',
      subjectType: 'api_token',
      subjectId: record.id,
      reason: bootstrapToken
        ? 'first start: first admin (FUNNELGATE_BOOTSTRAP_TOKEN)'
        : 'first start: first admin',
      after: toTokenView(record),
    });
    return { created: true, email: user.email, token } as const;
  });
}
