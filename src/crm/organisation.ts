// Territories, teams and products: the organisation reps work in and what they sell.
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';

export const territoryInputSchema = z.object({
  name: z.string().trim().min(1).max(200),
  region: z.string().trim().min(1).max(100),
  rules: z
    .object({
      regions: z.array(z.string()).optional(),
      countries: z.array(z.string()).optional(),
      industries: z.array(z.string()).optional(),
      size_bands: z.array(z.enum(['smb', 'mid_market', 'enterprise'])).optional(),
    })
    .default({})
    .describe('Which accounts fall in this territory'),
});

export const teamInputSchema = z.object({
  name: z.string().trim().min(1).max(200),
  territory_id: z.uuid().nullable().optional(),
  manager_id: z.uuid().nullable().optional(),
});

export const productInputSchema = z.object({
  sku: z.string().trim().min(1).max(100),
  name: z.string().trim().min(1).max(300),
  family: z.string().trim().max(200).nullable().optional(),
  list_price: z.number().min(0).nullable().optional(),
});

/** Creates or updates by name (territories, teams) or sku (products), so setup scripts can run twice. */
export async function upsertTerritory(db: Db, input: z.input<typeof territoryInputSchema>) {
  const data = territoryInputSchema.parse(input);
  return db
    .insertInto('territories')
    .values({ name: data.name, region: data.region, rules: JSON.stringify(data.rules) })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ region: data.region, rules: JSON.stringify(data.rules), updated_at: new Date() }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function upsertTeam(db: Db, input: z.input<typeof teamInputSchema>) {
  const data = teamInputSchema.parse(input);
  const values = { territory_id: data.territory_id ?? null, manager_id: data.manager_id ?? null };
  return db
    .insertInto('teams')
    .values({ name: data.name, ...values })
    .onConflict((oc) => oc.column('name').doUpdateSet({ ...values, updated_at: new Date() }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function upsertProduct(db: Db, input: z.input<typeof productInputSchema>) {
  const data = productInputSchema.parse(input);
  const values = { name: data.name, family: data.family ?? null, list_price: data.list_price ?? null };
  return db
    .insertInto('products')
    .values({ sku: data.sku, ...values })
    .onConflict((oc) => oc.column('sku').doUpdateSet({ ...values, updated_at: new Date() }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listTerritories(db: Db) {
  return db.selectFrom('territories').selectAll().orderBy('name').execute();
}

export async function listTeams(db: Db) {
  return db.selectFrom('teams').selectAll().orderBy('name').execute();
}

export async function listProducts(db: Db) {
  return db.selectFrom('products').selectAll().orderBy('sku').execute();
}

export async function getOpportunity(db: Db, id: string) {
  const opportunity = await db
    .selectFrom('opportunities')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!opportunity) throw new AppError('not_found', `No opportunity with id ${id}`);
  const [contacts, history] = await Promise.all([
    db
      .selectFrom('opportunity_contacts')
      .select(['contact_id', 'role'])
      .where('opportunity_id', '=', id)
      .execute(),
    db
      .selectFrom('opportunity_stage_history')
      .select(['from_stage', 'to_stage', 'changed_at', 'event_id'])
      .where('opportunity_id', '=', id)
      .orderBy('changed_at')
      .execute(),
  ]);
  return { ...opportunity, contacts, stage_history: history };
}

export async function listOpportunities(
  db: Db,
  filter: {
    accountId?: string;
    ownerId?: string;
    status?: 'open' | 'won' | 'lost';
    limit: number;
    after?: string;
  },
) {
  let query = db.selectFrom('opportunities').selectAll().orderBy('id').limit(filter.limit);
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.after) query = query.where('id', '>', filter.after);
  return query.execute();
}
