// Identity keys from the references an event carries. Pure.
//
// The rules (also in the README):
//  - A contact is identified by, in this order: its CRM id in that source (`crm:<source>:<id>`), its email
//    (`email:<address>`), its phone in E.164 (`phone:+...`), and a website visitor id (`anon:<source>:<id>`).
//    CRM ids, emails and phones are strong keys: an event with one creates the contact if it is new. A visitor
//    id alone never creates a contact; its events wait unattributed until a strong key arrives with it.
//  - An account is identified by its CRM id in that source (`crm:<source>:<id>`) and its company domain
//    (`domain:<domain>`), taken from the account's domain or website, or else from the contact's email unless
//    the email is at a free-mail provider.
//  - When one event's keys point at two existing entities, they are the same: the older one survives and the
//    other is merged into it, with the event as evidence. Merges can be undone.
import type { z } from 'zod';
import type { accountRefSchema, contactRefSchema } from './catalogue.ts';
import { companyDomain, companyDomainFromEmail, normalizeEmail, normalizePhone } from './normalize.ts';

export type ContactRef = z.infer<typeof contactRefSchema>;
export type AccountRef = z.infer<typeof accountRefSchema>;

export interface ContactIdentity {
  keys: string[];
  strong: boolean;
  email?: string;
  phone?: string;
  problems: string[];
}

export interface AccountIdentity {
  keys: string[];
  domain?: string;
  name?: string;
}

export function contactIdentity(
  ref: ContactRef | undefined,
  source: string,
  country?: string,
): ContactIdentity {
  const identity: ContactIdentity = { keys: [], strong: false, problems: [] };
  if (!ref) return identity;
  if (ref.crm_id) identity.keys.push(`crm:${source}:${ref.crm_id}`);
  if (ref.email !== undefined && ref.email !== '') {
    const email = normalizeEmail(ref.email);
    if (email) {
      identity.email = email;
      identity.keys.push(`email:${email}`);
    } else {
      identity.problems.push(`contact.email "${ref.email}" is not an email address`);
    }
  }
  if (ref.phone) {
    const phone = normalizePhone(ref.phone, country);
    if (phone) {
      identity.phone = phone;
      identity.keys.push(`phone:${phone}`);
    }
  }
  identity.strong = identity.keys.length > 0;
  if (ref.anonymous_id) identity.keys.push(`anon:${source}:${ref.anonymous_id}`);
  return identity;
}

export function accountIdentity(
  ref: AccountRef | undefined,
  source: string,
  contactEmail?: string,
): AccountIdentity {
  const identity: AccountIdentity = { keys: [] };
  if (ref?.crm_id) identity.keys.push(`crm:${source}:${ref.crm_id}`);
  const domain =
    companyDomain(ref?.domain) ?? companyDomain(ref?.website) ?? companyDomainFromEmail(contactEmail);
  if (domain) {
    identity.domain = domain;
    identity.keys.push(`domain:${domain}`);
  }
  if (ref?.name) identity.name = ref.name;
  return identity;
}

export function opportunityKey(crmId: string, source: string): string {
  return `crm:${source}:${crmId}`;
}
