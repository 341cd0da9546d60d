// Browser sessions: a person exchanges an API token for a session held in an httpOnly cookie. The cookie carries a
// random secret; the database keeps only its SHA-256. A session acts with the token's roles (as they are now:
// roles taken from the user leave the session too) and stops working when the token is revoked or expires, when
// the user is deactivated, or after SESSION_TTL_MS. Writes made with the cookie must also carry the CSRF token,
// an HMAC of the session keyed by a per-session secret, which the console reads once from the API.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Role } from './roles.ts';
import { authenticateToken, type Principal } from './tokens.ts';

export const SESSION_COOKIE = 'funnelgate_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A working day and a bit; signing in again is one paste of a token. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface Session {
  principal: Principal;
  idHash: Buffer;
  csrfToken: string;
  expiresAt: Date;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function csrfTokenOf(csrfSecret: string, idHash: Buffer): string {
  return createHmac('sha256', csrfSecret).update(idHash).digest('base64url');
}

/** Signs in: the token must be valid and belong to a person (machines use their token directly). */
export async function createSession(
  db: Db,
  input: { token: string; userAgent?: string | undefined; now?: Date },
): Promise<Session & { secret: string }> {
  const now = input.now ?? new Date();
  const principal = await authenticateToken(db, input.token);
  if (!principal) throw new AppError('unauthenticated', 'The API token is unknown, revoked or expired');
  const [user, token] = await Promise.all([
    db.selectFrom('users').select('kind').where('id', '=', principal.userId).executeTakeFirstOrThrow(),
    db
      .selectFrom('api_tokens')
      .select('expires_at')
      .where('id', '=', principal.tokenId)
      .executeTakeFirstOrThrow(),
  ]);
  if (user.kind !== 'human')
    throw new AppError(
      'forbidden',
      'Machine users cannot sign in to the console; use the token with the API',
    );
  if (principal.roles.length === 0)
    throw new AppError('forbidden', 'This token carries no roles; ask an admin for a token with a role');

  const secret = randomBytes(32).toString('base64url');
  const idHash = hashSecret(secret);
  const csrfSecret = randomBytes(32).toString('base64url');
  const ttlEnd = new Date(now.getTime() + SESSION_TTL_MS);
  const expiresAt = token.expires_at && token.expires_at < ttlEnd ? token.expires_at : ttlEnd;
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('sessions').where('expires_at', '<', now).execute();
    await trx
      .insertInto('sessions')
      .values({
        id_hash: idHash,
        user_id: principal.userId,
        token_id: principal.tokenId,
        csrf_secret: csrfSecret,
        expires_at: expiresAt,
        user_agent: input.userAgent?.slice(0, 300) ?? null,
      })
      .execute();
    await appendAudit(trx, {
      actor: principal.email,
      actorId: principal.userId,
      action: 'session.create',
      subjectType: 'api_token',
      subjectId: principal.tokenId,
      reason: 'signed in to the console',
      after: { roles: principal.roles, expires_at: expiresAt.toISOString() },
    });
  });
  return { secret, principal, idHash, csrfToken: csrfTokenOf(csrfSecret, idHash), expiresAt };
}

/** The session a cookie names, or undefined when it is unknown, expired, or its token or user no longer works. */
export async function authenticateSession(
  db: Db,
  secret: string,
  now = new Date(),
): Promise<Session | undefined> {
  if (!secret || secret.length > 200) return undefined;
  const idHash = hashSecret(secret);
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('api_tokens as t', 't.id', 's.token_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.csrf_secret', 's.expires_at as session_expires_at', 's.last_seen_at'])
    .select(['t.id as tokenId', 't.roles', 't.expires_at', 't.revoked_at'])
    .select(['u.id as userId', 'u.email', 'u.name', 'u.active', 'u.roles as userRoles'])
    .where('s.id_hash', '=', idHash)
    .executeTakeFirst();
  if (!row || row.revoked_at || !row.active) return undefined;
  if (row.session_expires_at <= now) return undefined;
  if (row.expires_at && row.expires_at <= now) return undefined;
  const roles = row.roles.filter((role) => row.userRoles.includes(role)) as Role[];
  if (now.getTime() - row.last_seen_at.getTime() > 60_000) {
    await db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }
  return {
    principal: { userId: row.userId, email: row.email, name: row.name, tokenId: row.tokenId, roles },
    idHash,
    csrfToken: csrfTokenOf(row.csrf_secret, idHash),
    expiresAt: row.session_expires_at,
  };
}

/** Constant-time comparison of the CSRF token a request presents with the session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Signs out: the session row is deleted, so the cookie stops working everywhere at once. */
export async function endSession(db: Db, session: Session): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('sessions').where('id_hash', '=', session.idHash).execute();
    await appendAudit(trx, {
      actor: session.principal.email,
      actorId: session.principal.userId,
      action: 'session.delete',
      subjectType: 'api_token',
      subjectId: session.principal.tokenId,
      reason: 'signed out of the console',
    });
  });
}
