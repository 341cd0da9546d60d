// Writes the simulated company's territories, teams, users and products. Idempotent: rows are matched by
// territory/team name, lower(email) and sku, and brought to the simulated values; a second run gives the same rows.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { SimulationSetup } from './staff.ts';

export interface AppliedSetup {
  territories: Record<string, string>;
  teams: Record<string, string>;
  users: Record<string, string>;
  products: Record<string, string>;
}

export async function applySimulationSetup(db: Db, setup: SimulationSetup): Promise<AppliedSetup> {
  return db.transaction().execute(async (trx) => {
    const territories = await upsertTerritories(trx, setup);
    // Users first without team and manager (teams point at their manager, users at their team).
    const users: Record<string, string> = {};
    for (const user of setup.users) {
      const territoryId = user.territory ? territories[user.territory]! : null;
      const row = await trx
        .insertInto('users')
        .values({
          email: user.email.toLowerCase(),
          name: user.name,
          kind: 'human',
          roles: user.roles,
          territory_id: territoryId,
          capacity: user.capacity,
          skills: user.skills,
          timezone: user.timezone,
          working_hours: JSON.stringify(user.workingHours),
        })
        .onConflict((oc) =>
          oc.expression(sql`lower(email)`).doUpdateSet({
            name: user.name,
            // Keep any roles someone gave this person by hand; add the simulated ones.
            roles: sql<string[]>`array(select distinct unnest(users.roles || excluded.roles) order by 1)`,
            territory_id: territoryId,
            capacity: user.capacity,
            skills: user.skills,
            timezone: user.timezone,
            working_hours: JSON.stringify(user.workingHours),
            updated_at: new Date(),
          }),
        )
        .returning('id')
        .executeTakeFirstOrThrow();
      users[user.email.toLowerCase()] = row.id;
    }
    const teams: Record<string, string> = {};
    for (const team of setup.teams) {
      const values = {
        territory_id: territories[team.territory] ?? null,
        manager_id: users[team.managerEmail.toLowerCase()] ?? null,
      };
      const row = await trx
        .insertInto('teams')
        .values({ name: team.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet({ ...values, updated_at: new Date() }))
        .returning('id')
        .executeTakeFirstOrThrow();
      teams[team.name] = row.id;
    }
    for (const user of setup.users) {
      await trx
        .updateTable('users')
        .set({
          team_id: user.team ? (teams[user.team] ?? null) : null,
          manager_id: user.managerEmail ? (users[user.managerEmail.toLowerCase()] ?? null) : null,
        })
        .where('id', '=', users[user.email.toLowerCase()]!)
        .execute();
    }
    const products: Record<string, string> = {};
    for (const product of setup.products) {
      const values = { name: product.name, family: product.family, list_price: product.list_price };
      const row = await trx
        .insertInto('products')
        .values({ sku: product.sku, ...values })
        .onConflict((oc) => oc.column('sku').doUpdateSet({ ...values, updated_at: new Date() }))
        .returning('id')
        .executeTakeFirstOrThrow();
      products[product.sku] = row.id;
    }
    return { territories, teams, users, products };
  });
}

async function upsertTerritories(trx: Db, setup: SimulationSetup): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const territory of setup.territories) {
    const values = { region: territory.region, rules: JSON.stringify(territory.rules) };
    const row = await trx
      .insertInto('territories')
      .values({ name: territory.name, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet({ ...values, updated_at: new Date() }))
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[territory.name] = row.id;
  }
  return ids;
}
