import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Where events may come from. An event from a source not registered here is quarantined.
    create table sources (
      name text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$'),
      description text,
      -- Used when the source gives local times without an offset.
      timezone text not null default 'UTC',
      active boolean not null default true,
      created_at timestamptz not null default now()
    );

    -- Webhook signing secrets, one or more per source: during a rotation the old and the new secret are both
    -- valid until the old one expires. Kept in clear because HMAC verification needs the secret itself.
    create table source_secrets (
      id uuid primary key default gen_random_uuid(),
      source text not null references sources(name),
      secret text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz
    );
    create index source_secrets_source_idx on source_secrets (source);

    -- Standard Webhooks replay protection: a webhook-id is accepted once per source.
    create table webhook_receipts (
      source text not null,
      webhook_id text not null,
      received_at timestamptz not null default now(),
      primary key (source, webhook_id)
    );

    -- Identity keys -> canonical entity. kind: contact | account | opportunity. key examples:
    -- 'email:ann@acme.com', 'crm:hubspot:123', 'phone:+14155550100', 'anon:web:abc', 'domain:acme.com'.
    create table identity_keys (
      kind text not null check (kind in ('contact', 'account', 'opportunity')),
      key text not null,
      entity_id uuid not null,
      created_at timestamptz not null default now(),
      primary key (kind, key)
    );
    create index identity_keys_entity_idx on identity_keys (kind, entity_id);

    -- Every merge with its evidence, reversible: the keys the merged entity owned are listed so an unmerge can
    -- give them back; events are then re-attributed from their own identity keys.
    create table identity_merges (
      id uuid primary key default gen_random_uuid(),
      kind text not null check (kind in ('contact', 'account')),
      survivor_id uuid not null,
      merged_id uuid not null,
      evidence jsonb not null,
      moved_keys text[] not null,
      merged_at timestamptz not null default now(),
      merged_by text not null default 'identity-resolution',
      unmerged_at timestamptz,
      unmerged_by text,
      unmerge_reason text
    );
    create index identity_merges_survivor_idx on identity_merges (survivor_id);
    create index identity_merges_merged_idx on identity_merges (merged_id);

    -- The identity keys each event carried, so attribution can be recomputed (late identities, unmerges).
    alter table events add column contact_keys text[] not null default '{}';
    alter table events add column account_keys text[] not null default '{}';
    create index events_contact_keys_gin on events using gin (contact_keys);
    create index events_unattributed_idx on events (id) where contact_id is null and contact_keys <> '{}';

    -- Per-field "as of" times: an attribute only changes for an event at least as recent as the one that set it,
    -- so out-of-order arrival ends in the same state as in-order arrival.
    alter table contacts add column field_times jsonb not null default '{}'::jsonb;
    alter table accounts add column field_times jsonb not null default '{}'::jsonb;
    alter table opportunities add column field_times jsonb not null default '{}'::jsonb;

    -- Bad records, whole and with the reason; fixed and replayed, never silently dropped.
    create table quarantine (
      id uuid primary key default gen_random_uuid(),
      batch_id uuid references ingest_batches(id),
      channel text not null,
      source text,
      source_event_id text,
      record_number integer,
      reason_code text not null,
      reason text not null,
      errors jsonb not null default '[]'::jsonb,
      raw jsonb not null,
      mapping_version text,
      status text not null default 'open' check (status in ('open', 'replayed', 'discarded')),
      received_at timestamptz not null default now(),
      resolved_at timestamptz,
      resolved_by text,
      replay_event_id bigint
    );
    create index quarantine_open_idx on quarantine (received_at) where status = 'open';
    create index quarantine_batch_idx on quarantine (batch_id);

    create table simulation_runs (
      id uuid primary key default gen_random_uuid(),
      seed integer not null,
      params jsonb not null,
      ground_truth jsonb not null,
      created_at timestamptz not null default now()
    );

    -- The append-only rule now also covers the identity keys an event carried.
    create or replace function events_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'TRUNCATE') then
        raise exception 'events are append-only: % is not allowed', lower(tg_op) using errcode = 'P0001';
      end if;
      if (new.id, new.source, new.source_event_id, new.type, new.type_known, new.occurred_at, new.received_at,
          new.payload, new.batch_id, new.mapping_version, new.subject, new.contact_keys, new.account_keys)
         is distinct from
         (old.id, old.source, old.source_event_id, old.type, old.type_known, old.occurred_at, old.received_at,
          old.payload, old.batch_id, old.mapping_version, old.subject, old.contact_keys, old.account_keys) then
        raise exception 'events are append-only: only contact_id, account_id and opportunity_id may be re-attributed'
          using errcode = 'P0001';
      end if;
      return new;
    end;
    $$;
  `.execute(db);
}
