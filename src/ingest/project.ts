// Applies an accepted event to the canonical entities (contacts, accounts, opportunities, stage history).
// Every attribute carries the time of the event that set it; an older event never overwrites a newer value,
// so the final state does not depend on arrival order.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { EventData, EventType } from './catalogue.ts';
import { fieldStamp, type FieldWriter, type WriteRule } from './field-writer.ts';
import { resolveIdentity, type IdentityCache } from './identity.ts';
import {
  accountIdentity,
  contactIdentity,
  opportunityKey,
  type AccountIdentity,
  type ContactIdentity,
  type AccountRef,
  type ContactRef,
} from './identity-keys.ts';

export interface ProjectionContext {
  trx: Db;
  source: string;
  eventId: string;
  sourceEventId: string;
  occurredAt: Date;
  /** Cache of owner email -> user id for the batch. */
  owners: Map<string, string | null>;
  /** Identity keys resolved in this transaction (they stay locked until it commits). */
  identities: IdentityCache;
  writer: FieldWriter;
  eventType?: string | null;
  /** The event's field-time stamp, worked out on first use (see applyFields). */
  stamp?: string;
}

/** The identities of an event's own contact and account, when the caller has already worked them out. */
export interface EventIdentities {
  contact: ContactIdentity;
  account: AccountIdentity;
}

export interface Attribution {
  contactId: string | null;
  accountId: string | null;
  opportunityId: string | null;
  contactKeys: string[];
  accountKeys: string[];
  warnings: string[];
}

type Table = 'contacts' | 'accounts' | 'opportunities';

/** Sets the given fields where this event is at least as recent as the value's current as-of time. */
export async function applyFields(
  ctx: ProjectionContext,
  table: Table,
  id: string,
  values: Record<string, unknown>,
  rule: WriteRule = 'latest',
): Promise<void> {
  ctx.stamp ??= fieldStamp(ctx.occurredAt.toISOString(), ctx.sourceEventId);
  ctx.writer.set(table, id, values, ctx.stamp, rule);
}

/** CRM records are the system of record for identity fields; other events only fill gaps (see field-writer). */
function identityRule(ctx: ProjectionContext): WriteRule {
  return ctx.eventType?.startsWith('crm.') ? 'latest' : 'earliest';
}

/**
 * A new entity: its id now, its row with the chunk's other writes (see field-writer), so creating a thousand
 * contacts costs one statement rather than a thousand.
 */
function newEntity(ctx: ProjectionContext, table: Table, values: Record<string, unknown>): string {
  const id = randomUUID();
  ctx.writer.create(table, id, values);
  return id;
}

async function ownerId(
  ctx: ProjectionContext,
  email: string | undefined,
  warnings: string[],
): Promise<string | null | undefined> {
  if (!email) return undefined;
  const key = email.trim().toLowerCase();
  if (!ctx.owners.has(key)) {
    const user = await ctx.trx
      .selectFrom('users')
      .select('id')
      .where(sql`lower(email)`, '=', key)
      .executeTakeFirst();
    ctx.owners.set(key, user?.id ?? null);
  }
  const id = ctx.owners.get(key) ?? null;
  if (!id) warnings.push(`owner ${key} is not a Funnelgate user; the owner is left unset`);
  return id ?? undefined;
}

export async function resolveAccount(
  ctx: ProjectionContext,
  ref: AccountRef | undefined,
  contactEmail?: string,
  known?: AccountIdentity,
) {
  const identity = known ?? accountIdentity(ref, ctx.source, contactEmail);
  if (identity.keys.length === 0) return { id: null, keys: [] as string[] };
  const id = await resolveIdentity(ctx.trx, 'account', identity.keys, {
    evidence: { source: ctx.source, source_event_id: ctx.sourceEventId },
    cache: ctx.identities,
    writer: ctx.writer,
    create: async () =>
      newEntity(ctx, 'accounts', {
        name: identity.name ?? identity.domain ?? 'Unknown account',
        domain: identity.domain ?? null,
      }),
  });
  if (id) {
    await applyFields(
      ctx,
      'accounts',
      id,
      {
        ...(identity.domain ? { domain: identity.domain } : {}),
        ...(identity.name ? { name: identity.name } : {}),
      },
      identityRule(ctx),
    );
  }
  return { id, keys: identity.keys };
}

export async function resolveContact(
  ctx: ProjectionContext,
  ref: ContactRef | undefined,
  country?: string,
  known?: ContactIdentity,
) {
  const identity = known ?? contactIdentity(ref, ctx.source, country);
  if (identity.keys.length === 0)
    return { id: null, keys: [] as string[], email: undefined as string | undefined };
  const id = await resolveIdentity(ctx.trx, 'contact', identity.keys, {
    evidence: { source: ctx.source, source_event_id: ctx.sourceEventId },
    cache: ctx.identities,
    writer: ctx.writer,
    ...(identity.strong
      ? {
          create: async () => newEntity(ctx, 'contacts', {}),
        }
      : {}),
  });
  if (id && (identity.email || identity.phone)) {
    await applyFields(
      ctx,
      'contacts',
      id,
      {
        ...(identity.email ? { email: identity.email } : {}),
        ...(identity.phone ? { phone: identity.phone } : {}),
      },
      identityRule(ctx),
    );
  }
  return { id, keys: identity.keys, email: identity.email };
}

async function resolveOpportunity(ctx: ProjectionContext, crmId: string): Promise<string> {
  const key = opportunityKey(crmId, ctx.source);
  const id = await resolveIdentity(ctx.trx, 'opportunity', [key], {
    evidence: { source: ctx.source, source_event_id: ctx.sourceEventId },
    cache: ctx.identities,
    writer: ctx.writer,
    create: async () =>
      newEntity(ctx, 'opportunities', { name: crmId, stage: 'unknown', opened_at: ctx.occurredAt }),
  });
  return id!;
}

/** Identity and entity changes for one accepted event. */
export async function projectEvent(
  ctx: ProjectionContext,
  type: EventType | null,
  data: unknown,
  identities?: EventIdentities,
): Promise<Attribution> {
  const attribution = await resolveAttribution(ctx, type, data, identities);
  await applyEffects(ctx, type, data, attribution);
  return attribution;
}

/** Who and what the event is about: resolves (and if needed creates) its contact, account and opportunity. */
export async function resolveAttribution(
  ctx: ProjectionContext,
  type: EventType | null,
  data: unknown,
  identities?: EventIdentities,
): Promise<Attribution> {
  ctx.eventType = type;
  const warnings: string[] = [];
  const refs = (data ?? {}) as {
    contact?: ContactRef;
    account?: AccountRef;
    opportunity?: { crm_id: string };
  };
  const country = (data as { country?: string } | undefined)?.country;
  const contact = await resolveContact(
    ctx,
    refs.contact,
    country && /^[A-Z]{2}$/.test(country) ? country : undefined,
    identities?.contact,
  );
  const account = await resolveAccount(ctx, refs.account, contact.email, identities?.account);
  let opportunityId: string | null = null;
  if (refs.opportunity?.crm_id) opportunityId = await resolveOpportunity(ctx, refs.opportunity.crm_id);

  if (contact.id && account.id) {
    // A contact's account: the CRM's latest word, or else the earliest event that names one.
    await applyFields(ctx, 'contacts', contact.id, { account_id: account.id }, identityRule(ctx));
  }
  return {
    contactId: contact.id,
    accountId: account.id,
    opportunityId,
    contactKeys: contact.keys,
    accountKeys: account.keys,
    warnings,
  };
}

/** What a stored event changes on the entities: attributes, stages, owners, opportunity members. */
export async function applyEffects(
  ctx: ProjectionContext,
  type: EventType | null,
  data: unknown,
  attribution: Attribution,
): Promise<void> {
  ctx.eventType = type;
  const warnings = attribution.warnings;
  const contact = { id: attribution.contactId };
  const account = { id: attribution.accountId };
  const opportunityId = attribution.opportunityId;
  switch (type) {
    case 'crm.contact.created':
    case 'crm.contact.updated': {
      const d = data as EventData<'crm.contact.created'>;
      if (contact.id) {
        await applyFields(ctx, 'contacts', contact.id, {
          first_name: d.first_name,
          last_name: d.last_name,
          title: d.title,
          seniority: d.seniority?.toLowerCase(),
          department: d.department,
          timezone: d.timezone,
          country: d.country,
          owner_id: await ownerId(ctx, d.owner_email, warnings),
          ...(d.attributes ? { attributes: d.attributes } : {}),
        });
        if (d.lifecycle_stage)
          await changeContactStage(ctx, contact.id, undefined, d.lifecycle_stage.toLowerCase());
      }
      break;
    }
    case 'crm.contact.stage_changed': {
      const d = data as EventData<'crm.contact.stage_changed'>;
      if (contact.id)
        await changeContactStage(ctx, contact.id, d.from_stage?.toLowerCase(), d.to_stage.toLowerCase());
      break;
    }
    case 'crm.contact.owner_changed': {
      const d = data as EventData<'crm.contact.owner_changed'>;
      if (contact.id)
        await applyFields(ctx, 'contacts', contact.id, {
          owner_id: (await ownerId(ctx, d.owner_email, warnings)) ?? null,
        });
      break;
    }
    case 'crm.account.created':
    case 'crm.account.updated': {
      const d = data as EventData<'crm.account.created'>;
      if (account.id) {
        const parent = d.parent ? await resolveAccount(ctx, d.parent) : undefined;
        await applyFields(ctx, 'accounts', account.id, {
          industry: d.industry,
          employees: d.employees,
          size_band: d.employees !== undefined ? sizeBand(d.employees) : undefined,
          annual_revenue: d.annual_revenue,
          region: d.region,
          country: d.country,
          tier: d.tier,
          parent_id: parent?.id && parent.id !== account.id ? parent.id : undefined,
          owner_id: await ownerId(ctx, d.owner_email, warnings),
          ...(d.attributes ? { attributes: d.attributes } : {}),
        });
      }
      break;
    }
    case 'crm.account.owner_changed': {
      const d = data as EventData<'crm.account.owner_changed'>;
      if (account.id)
        await applyFields(ctx, 'accounts', account.id, {
          owner_id: (await ownerId(ctx, d.owner_email, warnings)) ?? null,
        });
      break;
    }
    case 'crm.opportunity.created':
    case 'crm.opportunity.updated': {
      const d = data as EventData<'crm.opportunity.created'>;
      if (!opportunityId) break;
      const oppAccount = d.account ? await resolveAccount(ctx, d.account) : account;
      const productId = await productFor(ctx, d.product_sku, d.product_name);
      await applyFields(ctx, 'opportunities', opportunityId, {
        name: d.name,
        account_id: oppAccount.id ?? undefined,
        product_id: productId,
        amount: d.amount,
        currency: d.currency,
        owner_id: await ownerId(ctx, d.owner_email, warnings),
        expected_close_date: d.expected_close_date,
        ...(d.attributes ? { attributes: d.attributes } : {}),
      });
      // Opened is the earliest time anyone says the opportunity existed.
      const openedAt = d.opened_at
        ? new Date(d.opened_at)
        : type === 'crm.opportunity.created'
          ? ctx.occurredAt
          : undefined;
      if (openedAt) {
        await ctx.writer.flushCreates(ctx.trx);
        await ctx.trx
          .updateTable('opportunities')
          .set({ opened_at: sql`least(opened_at, ${openedAt})` })
          .where('id', '=', opportunityId)
          .execute();
      }
      if (d.stage)
        await changeOpportunityStage(ctx, opportunityId, undefined, d.stage, d.status, d.closed_at);
      for (const member of d.contacts ?? []) {
        const person = await resolveContact(ctx, member.contact);
        if (person.id) {
          await ctx.writer.flushCreates(ctx.trx);
          await ctx.trx
            .insertInto('opportunity_contacts')
            .values({ opportunity_id: opportunityId, contact_id: person.id, role: member.role ?? null })
            .onConflict((oc) => oc.columns(['opportunity_id', 'contact_id']).doNothing())
            .execute();
        }
      }
      break;
    }
    case 'crm.opportunity.stage_changed': {
      const d = data as EventData<'crm.opportunity.stage_changed'>;
      if (!opportunityId) break;
      if (account.id) await applyFields(ctx, 'opportunities', opportunityId, { account_id: account.id });
      if (d.amount !== undefined)
        await applyFields(ctx, 'opportunities', opportunityId, { amount: d.amount });
      await changeOpportunityStage(ctx, opportunityId, d.from_stage, d.to_stage, d.status);
      break;
    }
    case 'crm.opportunity.owner_changed': {
      const d = data as EventData<'crm.opportunity.owner_changed'>;
      if (opportunityId)
        await applyFields(ctx, 'opportunities', opportunityId, {
          owner_id: (await ownerId(ctx, d.owner_email, warnings)) ?? null,
        });
      break;
    }
    default:
      break;
  }
}

async function changeContactStage(
  ctx: ProjectionContext,
  contactId: string,
  from: string | undefined,
  to: string,
) {
  await ctx.writer.flushCreates(ctx.trx);
  await ctx.trx
    .insertInto('contact_stage_history')
    .values({
      contact_id: contactId,
      from_stage: from ?? null,
      to_stage: to,
      changed_at: ctx.occurredAt,
      event_id: ctx.eventId,
    })
    .execute();
  await applyFields(ctx, 'contacts', contactId, { lifecycle_stage: to, lifecycle_stage_at: ctx.occurredAt });
}

const CLOSED_WON = /^(closed[ _-]?won|won)$/i;
const CLOSED_LOST = /^(closed[ _-]?lost|lost)$/i;

async function changeOpportunityStage(
  ctx: ProjectionContext,
  opportunityId: string,
  from: string | undefined,
  to: string,
  status?: 'open' | 'won' | 'lost',
  closedAt?: string,
) {
  await ctx.writer.flushCreates(ctx.trx);
  await ctx.trx
    .insertInto('opportunity_stage_history')
    .values({
      opportunity_id: opportunityId,
      from_stage: from ?? null,
      to_stage: to,
      changed_at: ctx.occurredAt,
      event_id: ctx.eventId,
    })
    .execute();
  const derived = status ?? (CLOSED_WON.test(to) ? 'won' : CLOSED_LOST.test(to) ? 'lost' : 'open');
  await applyFields(ctx, 'opportunities', opportunityId, {
    stage: to,
    status: derived,
    closed_at: derived === 'open' ? null : closedAt ? new Date(closedAt) : ctx.occurredAt,
  });
}

async function productFor(
  ctx: ProjectionContext,
  sku: string | undefined,
  name: string | undefined,
): Promise<string | undefined> {
  if (!sku && !name) return undefined;
  const key = sku ?? name!.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const row = await ctx.trx
    .insertInto('products')
    .values({ sku: key, name: name ?? key })
    .onConflict((oc) => oc.column('sku').doUpdateSet({ sku: key }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export function sizeBand(employees: number): string {
  if (employees < 200) return 'smb';
  if (employees < 1000) return 'mid_market';
  return 'enterprise';
}
