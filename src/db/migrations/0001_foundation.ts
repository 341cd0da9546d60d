// Forward-only. Never edit a migration that has shipped; add a new one. Migrations import no application code.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table territories (
      id uuid primary key default gen_random_uuid(),
      name text not null unique,
      region text not null,
      -- Which accounts fall in this territory: countries, regions, industries, size bands (see crm/territories).
      rules jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table teams (
      id uuid primary key default gen_random_uuid(),
      name text not null unique,
      territory_id uuid references territories(id),
      manager_id uuid,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table users (
      id uuid primary key default gen_random_uuid(),
      email text not null,
      name text not null,
      kind text not null default 'human' check (kind in ('human', 'machine')),
      roles text[] not null default '{}',
      team_id uuid references teams(id),
      manager_id uuid references users(id),
      territory_id uuid references territories(id),
      -- How many open leads/opportunities this person can carry, and how many reviews a day.
      capacity integer not null default 50 check (capacity >= 0),
      skills text[] not null default '{}',
      timezone text not null default 'UTC',
      -- {"days":[1,2,3,4,5],"start":"09:00","end":"17:00"} in the user's own time zone.
      working_hours jsonb not null default '{"days":[1,2,3,4,5],"start":"09:00","end":"17:00"}'::jsonb,
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint users_roles_known check (roles <@ array['admin','policy_owner','reviewer','analyst','ingest','rep']::text[])
    );
    create unique index users_email_key on users (lower(email));
    alter table teams add constraint teams_manager_fk foreign key (manager_id) references users(id);

    create table api_tokens (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users(id),
      name text not null,
      -- SHA-256 of the token: tokens are 256-bit random, so a fast hash is safe and lookups stay O(1).
      token_hash bytea not null unique,
      -- The first characters, so a person can tell tokens apart without the secret.
      display_prefix text not null,
      roles text[] not null,
      created_by uuid references users(id),
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz,
      revoked_by uuid references users(id)
    );
    create index api_tokens_user_idx on api_tokens (user_id);

    create table products (
      id uuid primary key default gen_random_uuid(),
      sku text not null unique,
      name text not null,
      family text,
      list_price numeric(14, 2),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table accounts (
      id uuid primary key default gen_random_uuid(),
      domain text,
      name text not null,
      industry text,
      employees integer check (employees >= 0),
      size_band text,
      annual_revenue numeric(18, 2),
      region text,
      country text,
      tier text,
      parent_id uuid references accounts(id),
      owner_id uuid references users(id),
      territory_id uuid references territories(id),
      -- Merged accounts keep their row and point at the survivor, so old references still resolve.
      merged_into_id uuid references accounts(id),
      attributes jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index accounts_domain_key on accounts (domain) where domain is not null and merged_into_id is null;
    create index accounts_parent_idx on accounts (parent_id) where parent_id is not null;
    create index accounts_owner_idx on accounts (owner_id) where owner_id is not null;

    create table contacts (
      id uuid primary key default gen_random_uuid(),
      account_id uuid references accounts(id),
      email text,
      phone text,
      first_name text,
      last_name text,
      title text,
      seniority text,
      department text,
      lifecycle_stage text not null default 'lead',
      lifecycle_stage_at timestamptz,
      owner_id uuid references users(id),
      timezone text,
      country text,
      merged_into_id uuid references contacts(id),
      attributes jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index contacts_email_key on contacts (email) where email is not null and merged_into_id is null;
    create index contacts_account_idx on contacts (account_id);
    create index contacts_owner_idx on contacts (owner_id) where owner_id is not null;
    create index contacts_stage_idx on contacts (lifecycle_stage);

    create table opportunities (
      id uuid primary key default gen_random_uuid(),
      account_id uuid references accounts(id),
      product_id uuid references products(id),
      name text not null,
      stage text not null,
      status text not null default 'open' check (status in ('open', 'won', 'lost')),
      amount numeric(18, 2),
      currency text not null default 'USD',
      owner_id uuid references users(id),
      opened_at timestamptz not null,
      expected_close_date date,
      closed_at timestamptz,
      attributes jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index opportunities_account_idx on opportunities (account_id);
    create index opportunities_owner_idx on opportunities (owner_id);
    create index opportunities_status_idx on opportunities (status, stage);

    create table opportunity_contacts (
      opportunity_id uuid not null references opportunities(id) on delete cascade,
      contact_id uuid not null references contacts(id),
      role text,
      primary key (opportunity_id, contact_id)
    );
    create index opportunity_contacts_contact_idx on opportunity_contacts (contact_id);

    create table contact_stage_history (
      id bigint generated always as identity primary key,
      contact_id uuid not null references contacts(id),
      from_stage text,
      to_stage text not null,
      changed_at timestamptz not null,
      event_id bigint
    );
    create index contact_stage_history_contact_idx on contact_stage_history (contact_id, changed_at);

    create table opportunity_stage_history (
      id bigint generated always as identity primary key,
      opportunity_id uuid not null references opportunities(id) on delete cascade,
      from_stage text,
      to_stage text not null,
      changed_at timestamptz not null,
      event_id bigint
    );
    create index opportunity_stage_history_opp_idx on opportunity_stage_history (opportunity_id, changed_at);

    create table ingest_batches (
      id uuid primary key default gen_random_uuid(),
      source text not null,
      channel text not null check (channel in ('http', 'webhook', 'csv', 'nats', 'simulator', 'replay')),
      mapping_version text,
      description text,
      created_by uuid references users(id),
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      accepted integer not null default 0,
      duplicate integer not null default 0,
      quarantined integer not null default 0
    );

    -- The event store. Append-only for facts; only the resolved contact/account may change (identity
    -- resolution re-attributes events when an identity arrives late or a merge is undone).
    --
    -- Not partitioned, on purpose: idempotency is a unique (source, source_event_id) across all time, and
    -- PostgreSQL requires every unique index of a partitioned table to include the partition key. Partitioning
    -- by time would either lose that global guarantee or need a second dedup table written on every insert.
    -- At tens of millions of rows the per-contact / per-account time-range indexes below keep reads selective,
    -- and the BRIN index on received_at keeps time scans cheap at a tiny size.
    create table events (
      id bigint generated always as identity primary key,
      source text not null,
      source_event_id text not null,
      type text not null,
      type_known boolean not null,
      occurred_at timestamptz not null,
      received_at timestamptz not null default now(),
      contact_id uuid references contacts(id),
      account_id uuid references accounts(id),
      opportunity_id uuid references opportunities(id),
      subject text,
      payload jsonb not null,
      batch_id uuid references ingest_batches(id),
      mapping_version text,
      constraint events_source_event_key unique (source, source_event_id)
    );
    create index events_contact_time_idx on events (contact_id, occurred_at) where contact_id is not null;
    create index events_account_time_idx on events (account_id, occurred_at) where account_id is not null;
    create index events_type_time_idx on events (type, occurred_at);
    create index events_received_brin on events using brin (received_at);
    create index events_batch_idx on events (batch_id);

    create function events_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'TRUNCATE') then
        raise exception 'events are append-only: % is not allowed', lower(tg_op) using errcode = 'P0001';
      end if;
      if (new.id, new.source, new.source_event_id, new.type, new.type_known, new.occurred_at, new.received_at,
          new.payload, new.batch_id, new.mapping_version, new.subject)
         is distinct from
         (old.id, old.source, old.source_event_id, old.type, old.type_known, old.occurred_at, old.received_at,
          old.payload, old.batch_id, old.mapping_version, old.subject) then
        raise exception 'events are append-only: only contact_id, account_id and opportunity_id may be re-attributed'
          using errcode = 'P0001';
      end if;
      return new;
    end;
    $$;
    create trigger events_append_only before update or delete on events
      for each row execute function events_append_only();
    create trigger events_no_truncate before truncate on events
      for each statement execute function events_append_only();
  `.execute(db);
}
