// Users: reps, reviewers, admins and machine identities. Repository functions take the db or a transaction.
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { roleSchema } from './roles.ts';

export const timezoneSchema = z.string().refine(isValidTimeZone, {
  message: 'must be an IANA time zone such as "Europe/Berlin" or "America/New_York"',
});

export const workingHoursSchema = z.object({
  days: z.array(z.number().int().min(1).max(7)).min(1).describe('ISO weekdays, 1 = Monday'),
  start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM'),
  end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'must be HH:MM'),
});

export const userInputSchema = z.object({
  email: z.email('must be an email address').max(320),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  kind: z.enum(['human', 'machine']).default('human'),
  roles: z.array(roleSchema).min(1, 'give at least one role').max(6),
  team_id: z.uuid().nullable().optional(),
  manager_id: z.uuid().nullable().optional(),
  territory_id: z.uuid().nullable().optional(),
  capacity: z.number().int().min(0).max(100_000).optional(),
  skills: z.array(z.string().trim().min(1).max(80)).max(50).optional(),
  timezone: timezoneSchema.optional(),
  working_hours: workingHoursSchema.optional(),
});
export type UserInput = z.input<typeof userInputSchema>;

export const userUpdateSchema = userInputSchema.partial().extend({ active: z.boolean().optional() });
export type UserUpdateInput = z.input<typeof userUpdateSchema>;

export const userViewSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  kind: z.enum(['human', 'machine']),
  roles: z.array(z.string()),
  team_id: z.string().nullable(),
  manager_id: z.string().nullable(),
  territory_id: z.string().nullable(),
  capacity: z.number(),
  skills: z.array(z.string()),
  timezone: z.string(),
  working_hours: workingHoursSchema,
  active: z.boolean(),
  created_at: z.date(),
  updated_at: z.date(),
});
export type UserView = z.infer<typeof userViewSchema>;

export function toUserView(user: User): UserView {
  return { ...user, kind: user.kind, working_hours: user.working_hours };
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export async function createUser(db: Db, input: UserInput): Promise<User> {
  const data = userInputSchema.parse(input);
  const existing = await findUserByEmail(db, data.email);
  if (existing) {
    throw new AppError('conflict', `A user with email ${data.email} already exists (id ${existing.id})`, {
      field: 'email',
      existingId: existing.id,
    });
  }
  return db
    .insertInto('users')
    .values({
      email: data.email.toLowerCase(),
      name: data.name,
      kind: data.kind,
      roles: data.roles,
      team_id: data.team_id ?? null,
      manager_id: data.manager_id ?? null,
      territory_id: data.territory_id ?? null,
      ...(data.capacity !== undefined ? { capacity: data.capacity } : {}),
      ...(data.skills ? { skills: data.skills } : {}),
      ...(data.timezone ? { timezone: data.timezone } : {}),
      ...(data.working_hours ? { working_hours: JSON.stringify(data.working_hours) } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateUser(db: Db, id: string, input: UserUpdateInput): Promise<User> {
  const data = userUpdateSchema.parse(input);
  const { working_hours, ...rest } = data;
  const updated = await db
    .updateTable('users')
    .set({
      ...rest,
      ...(rest.email ? { email: rest.email.toLowerCase() } : {}),
      ...(working_hours ? { working_hours: JSON.stringify(working_hours) } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new AppError('not_found', `No user with id ${id}`);
  return updated;
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst();
}

export async function getUser(db: Db, id: string): Promise<User> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!user) throw new AppError('not_found', `No user with id ${id}`);
  return user;
}

/** Accepts an id or an email, as people type either on the command line. */
export async function findUserByIdOrEmail(db: Db, idOrEmail: string): Promise<User | undefined> {
  if (z.uuid().safeParse(idOrEmail).success) {
    return db.selectFrom('users').selectAll().where('id', '=', idOrEmail).executeTakeFirst();
  }
  return findUserByEmail(db, idOrEmail);
}

export async function listUsers(
  db: Db,
  filter: { role?: string; active?: boolean; limit: number; after?: string },
): Promise<User[]> {
  let query = db.selectFrom('users').selectAll().orderBy('id').limit(filter.limit);
  if (filter.role) query = query.where(sql<boolean>`${filter.role} = any(roles)`);
  if (filter.active !== undefined) query = query.where('active', '=', filter.active);
  if (filter.after) query = query.where('id', '>', filter.after);
  return query.execute();
}

export async function countAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(sql<boolean>`'admin' = any(roles)`)
    .where('active', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
