// The registry of event sources, and their webhook secrets (rotatable: several valid at once).
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { Source } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { isValidTimeZone } from './normalize.ts';

export const sourceInputSchema = z.object({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/,
      'must be letters, digits and . _ : / - (e.g. "hubspot" or "crm/salesforce")',
    ),
  description: z.string().max(500).optional(),
  timezone: z
    .string()
    .refine(isValidTimeZone, 'must be an IANA time zone such as "Europe/Berlin"')
    .optional()
    .describe('Zone for local times without an offset; default UTC'),
});
export type SourceInput = z.input<typeof sourceInputSchema>;

export const sourceViewSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  timezone: z.string(),
  active: z.boolean(),
  created_at: z.date(),
  webhook_secrets: z.number().describe('How many webhook secrets are currently valid'),
});

/** Registers a source if it is new; an existing source is returned unchanged. */
export async function ensureSource(db: Db, input: SourceInput): Promise<Source> {
  const data = sourceInputSchema.parse(input);
  await db
    .insertInto('sources')
    .values({
      name: data.name,
      description: data.description ?? null,
      ...(data.timezone ? { timezone: data.timezone } : {}),
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return getSource(db, data.name);
}

export async function createSource(db: Db, input: SourceInput): Promise<Source> {
  const data = sourceInputSchema.parse(input);
  const inserted = await db
    .insertInto('sources')
    .values({
      name: data.name,
      description: data.description ?? null,
      ...(data.timezone ? { timezone: data.timezone } : {}),
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) throw new AppError('conflict', `Source "${data.name}" already exists`);
  return inserted;
}

export async function getSource(db: Db, name: string): Promise<Source> {
  const source = await findSource(db, name);
  if (!source)
    throw new AppError(
      'not_found',
      `No source "${name}"; register it first (POST /v1/sources or \`funnelgate source add\`)`,
    );
  return source;
}

export async function findSource(db: Db, name: string): Promise<Source | undefined> {
  return db.selectFrom('sources').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listSources(db: Db) {
  return db
    .selectFrom('sources as s')
    .selectAll('s')
    .select((eb) =>
      eb
        .selectFrom('source_secrets as k')
        .whereRef('k.source', '=', 's.name')
        .where((w) => w.or([w('k.expires_at', 'is', null), w('k.expires_at', '>', sql<Date>`now()`)]))
        .select(eb.fn.countAll<string>().as('n'))
        .as('secrets'),
    )
    .orderBy('s.name')
    .execute();
}

/**
 * Adds a new webhook secret ("whsec_" + base64, as Standard Webhooks expects). Older secrets stay valid for
 * `overlapSeconds` so senders can switch without dropped deliveries; 0 ends them now.
 */
export async function rotateWebhookSecret(
  db: Db,
  sourceName: string,
  overlapSeconds = 86_400,
): Promise<{ secret: string }> {
  await getSource(db, sourceName);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('source_secrets')
      .set({ expires_at: sql`now() + make_interval(secs => ${overlapSeconds})` })
      .where('source', '=', sourceName)
      .where((w) =>
        w.or([
          w('expires_at', 'is', null),
          w('expires_at', '>', sql<Date>`now() + make_interval(secs => ${overlapSeconds})`),
        ]),
      )
      .execute();
    await trx.insertInto('source_secrets').values({ source: sourceName, secret }).execute();
  });
  return { secret };
}

export async function validWebhookSecrets(db: Db, sourceName: string): Promise<string[]> {
  const rows = await db
    .selectFrom('source_secrets')
    .select('secret')
    .where('source', '=', sourceName)
    .where((w) => w.or([w('expires_at', 'is', null), w('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => r.secret);
}
