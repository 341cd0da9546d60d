// The event catalogue: every event type Funnelgate understands, each with the zod schema of its `data`.
// Types not listed here are still stored (raw, `type_known = false`), never dropped.
import { z } from 'zod';

/** Who an event is about. Any of the keys may be given; identity resolution combines them. */
export const contactRefSchema = z
  .object({
    crm_id: z.string().trim().min(1).max(200).optional(),
    email: z.string().trim().max(320).optional(),
    phone: z.string().trim().max(50).optional(),
    /** A website visitor id (cookie) that becomes known when the visitor fills in a form. */
    anonymous_id: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .refine((ref) => Boolean(ref.crm_id || ref.email || ref.phone || ref.anonymous_id), {
    message: 'identify the contact with at least one of crm_id, email, phone or anonymous_id',
  });

export const accountRefSchema = z
  .object({
    crm_id: z.string().trim().min(1).max(200).optional(),
    domain: z.string().trim().max(253).optional(),
    website: z.string().trim().max(2000).optional(),
    name: z.string().trim().max(300).optional(),
  })
  .strict();

const optionalText = (max = 300) => z.string().trim().max(max).optional();
const money = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a number')])
  .transform(Number);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

const contactAttributes = {
  first_name: optionalText(),
  last_name: optionalText(),
  title: optionalText(),
  seniority: optionalText(50),
  department: optionalText(100),
  lifecycle_stage: optionalText(50),
  owner_email: optionalText(320),
  timezone: optionalText(64),
  country: optionalText(100),
  attributes: z.record(z.string(), z.unknown()).optional(),
};

const accountAttributes = {
  industry: optionalText(200),
  employees: z.number().int().min(0).max(2_147_483_647).optional(),
  annual_revenue: money.optional(),
  region: optionalText(100),
  country: optionalText(100),
  tier: optionalText(50),
  parent: accountRefSchema.optional(),
  owner_email: optionalText(320),
  attributes: z.record(z.string(), z.unknown()).optional(),
};

const opportunityAttributes = {
  name: optionalText(300),
  account: accountRefSchema.optional(),
  product_sku: optionalText(100),
  product_name: optionalText(300),
  stage: optionalText(100),
  status: z.enum(['open', 'won', 'lost']).optional(),
  amount: money.optional(),
  currency: z.string().length(3).optional(),
  owner_email: optionalText(320),
  opened_at: z.iso.datetime({ offset: true }).optional(),
  expected_close_date: isoDate.optional(),
  closed_at: z.iso.datetime({ offset: true }).optional(),
  contacts: z
    .array(z.object({ contact: contactRefSchema, role: optionalText(100) }))
    .max(200)
    .optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
};

const contactEvent = z.object({ contact: contactRefSchema, account: accountRefSchema.optional() });
const contactEntity = contactEvent.extend(contactAttributes);
const accountEntity = z.object({ account: accountRefSchema, ...accountAttributes });
const opportunityRef = z.object({ crm_id: z.string().trim().min(1).max(200) }).strict();
const opportunityEntity = z.object({ opportunity: opportunityRef, ...opportunityAttributes });

const emailData = contactEvent.extend({
  message_id: optionalText(300),
  campaign: optionalText(300),
  subject: optionalText(1000),
  url: optionalText(2000),
  bounce_type: z.enum(['hard', 'soft']).optional(),
});

const webData = z.object({
  contact: contactRefSchema,
  account: accountRefSchema.optional(),
  url: z.string().trim().min(1).max(4000),
  title: optionalText(1000),
  referrer: optionalText(4000),
});

const meetingData = contactEvent.extend({
  meeting_id: optionalText(200),
  scheduled_for: z.iso.datetime({ offset: true }).optional(),
  duration_minutes: z
    .number()
    .min(0)
    .max(24 * 60)
    .optional(),
  opportunity: opportunityRef.optional(),
});

const ticketData = contactEvent.extend({
  ticket_id: z.string().trim().min(1).max(200),
  priority: z.enum(['low', 'normal', 'high', 'urgent']).optional(),
  status: optionalText(50),
  category: optionalText(200),
});

export const EVENT_CATALOGUE = {
  'crm.contact.created': contactEntity,
  'crm.contact.updated': contactEntity,
  'crm.contact.stage_changed': contactEvent.extend({
    from_stage: optionalText(50),
    to_stage: z.string().trim().min(1).max(50),
  }),
  'crm.contact.owner_changed': contactEvent.extend({ owner_email: z.string().trim().max(320) }),
  'crm.account.created': accountEntity,
  'crm.account.updated': accountEntity,
  'crm.account.owner_changed': z.object({
    account: accountRefSchema,
    owner_email: z.string().trim().max(320),
  }),
  'crm.opportunity.created': opportunityEntity,
  'crm.opportunity.updated': opportunityEntity,
  'crm.opportunity.stage_changed': z.object({
    opportunity: opportunityRef,
    account: accountRefSchema.optional(),
    from_stage: optionalText(100),
    to_stage: z.string().trim().min(1).max(100),
    status: z.enum(['open', 'won', 'lost']).optional(),
    amount: money.optional(),
  }),
  'crm.opportunity.owner_changed': z.object({
    opportunity: opportunityRef,
    owner_email: z.string().trim().max(320),
  }),
  'email.sent': emailData,
  'email.delivered': emailData,
  'email.opened': emailData,
  'email.clicked': emailData,
  'email.replied': emailData,
  'email.bounced': emailData,
  'email.unsubscribed': emailData,
  'web.page_viewed': webData,
  'web.form_submitted': webData.extend({
    form: z.string().trim().min(1).max(200),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  'meeting.booked': meetingData,
  'meeting.held': meetingData,
  'meeting.no_show': meetingData,
  'call.logged': contactEvent.extend({
    direction: z.enum(['inbound', 'outbound']).optional(),
    duration_seconds: z
      .number()
      .min(0)
      .max(24 * 3600)
      .optional(),
    outcome: optionalText(100),
  }),
  'support.ticket_opened': ticketData,
  'support.ticket_updated': ticketData,
  'support.ticket_closed': ticketData,
  /** A known outcome (a label for training): "converted", "won", "subscribed"... from CSV outcome columns or a CRM. */
  'outcome.observed': z.object({
    contact: contactRefSchema.optional(),
    account: accountRefSchema.optional(),
    opportunity: opportunityRef.optional(),
    name: z.string().trim().min(1).max(100),
    value: z.union([z.string().max(500), z.number(), z.boolean(), z.null()]),
    positive: z.boolean().optional().describe('Whether the value counts as the positive class'),
  }),
  'product.usage': contactEvent.extend({
    feature: z.string().trim().min(1).max(200),
    quantity: z.number().min(0).default(1),
  }),
} as const satisfies Record<string, z.ZodType>;

export type EventType = keyof typeof EVENT_CATALOGUE;
export type EventData<T extends EventType> = z.output<(typeof EVENT_CATALOGUE)[T]>;
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

export function isKnownEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, type);
}

/**
 * CloudEvents 1.0, structured JSON mode. Extension attributes are allowed (kept in the stored payload).
 * `time` is required by us (not by the spec): an event without a time cannot be placed on the timeline.
 */
export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0', { error: 'specversion must be "1.0" (CloudEvents 1.0)' }),
    id: z.string().min(1, 'id must not be empty').max(500),
    source: z.string().min(1, 'source must not be empty').max(500),
    type: z.string().min(1, 'type must not be empty').max(300),
    time: z.string().min(1, 'time is required: when the event happened (RFC 3339)'),
    subject: z.string().max(500).optional(),
    datacontenttype: z.string().max(200).optional(),
    dataschema: z.string().max(2000).optional(),
    data: z.unknown(),
  })
  .catchall(z.unknown());

export type CloudEvent = z.infer<typeof cloudEventSchema>;

/**
 * Event data already checked against its type's catalogue schema by whoever made it, with the schema's output:
 * the CSV mapping checks each row as it maps it (to name the columns behind a problem), and ingestion then uses
 * that result instead of checking the same data a second time (about a microsecond a row). Keyed by the data
 * object itself, so only that very object counts, and weakly, so nothing is kept alive by it.
 */
const checkedData = new WeakMap<object, { type: string; parsed: unknown }>();

export function rememberCheckedData(type: EventType, data: object, parsed: unknown): void {
  checkedData.set(data, { type, parsed });
}

/** The schema's output for data checked as `type` (see rememberCheckedData), or undefined. */
export function checkedDataOf(type: string, data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  const checked = checkedData.get(data);
  return checked?.type === type ? checked.parsed : undefined;
}

const textOf = (value: unknown, min: number, max: number) =>
  typeof value === 'string' && value.length >= min && value.length <= max;
const optionalTextOf = (value: unknown, max: number) => value === undefined || textOf(value, 0, max);

/**
 * Whether cloudEventSchema accepts the value, checked in place: ingestion then uses the event as it is instead
 * of the schema's copy of it, and runs the schema only for the messages of an event that fails.
 */
export function isCloudEvent(value: unknown): value is CloudEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const event = value as Record<string, unknown>;
  return (
    // The schema wants the data key present (its value may be anything, even undefined).
    'data' in event &&
    event['specversion'] === '1.0' &&
    textOf(event['id'], 1, 500) &&
    textOf(event['source'], 1, 500) &&
    textOf(event['type'], 1, 300) &&
    textOf(event['time'], 1, Infinity) &&
    optionalTextOf(event['subject'], 500) &&
    optionalTextOf(event['datacontenttype'], 200) &&
    optionalTextOf(event['dataschema'], 2000)
  );
}
