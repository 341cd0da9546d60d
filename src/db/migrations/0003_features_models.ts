import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The audit trail: append-only and hash-chained. Each entry carries the hash of the one before it, so a
    -- row changed behind the application's back breaks the chain at that row; the database itself refuses
    -- UPDATE, DELETE and TRUNCATE.
    create table audit_log (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      actor text not null,
      actor_id uuid,
      action text not null,
      subject_type text not null,
      subject_id text,
      reason text,
      before jsonb,
      after jsonb,
      prev_hash text not null,
      hash text not null unique
    );
    create index audit_log_subject_idx on audit_log (subject_type, subject_id, id);
    create index audit_log_action_idx on audit_log (action, id);

    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % is not allowed', lower(tg_op) using errcode = 'P0001';
    end;
    $$;
    create trigger audit_log_no_change before update or delete on audit_log
      for each row execute function audit_log_append_only();
    create trigger audit_log_no_truncate before truncate on audit_log
      for each statement execute function audit_log_append_only();

    -- Feature definitions live in code; this records every version the code has registered, with the hash
    -- of its computation, so a changed computation without a new version is caught at start-up.
    create table feature_definitions (
      name text not null,
      version integer not null,
      entity text not null,
      description text not null,
      window_days integer,
      computation_hash text not null,
      registered_at timestamptz not null default now(),
      primary key (name, version)
    );

    create table feature_sets (
      name text not null,
      version integer not null,
      features text[] not null,
      registered_at timestamptz not null default now(),
      primary key (name, version)
    );

    -- Online store: the latest values per entity and feature set, with the time they are as of.
    create table feature_values (
      entity_type text not null,
      entity_id uuid not null,
      feature_set text not null,
      feature_set_version integer not null,
      as_of timestamptz not null,
      values jsonb not null,
      computed_at timestamptz not null default now(),
      primary key (entity_type, entity_id, feature_set)
    );
    create index feature_values_computed_idx on feature_values (feature_set, computed_at);

    -- Contacts whose events changed since their features were last computed; written in the ingest
    -- transaction, consumed (deleted) by the job that refreshes features and scores.
    create table dirty_contacts (
      contact_id uuid primary key,
      marked_at timestamptz not null default now()
    );

    create table models (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      version integer not null,
      kind text not null,
      feature_set text not null,
      feature_set_version integer not null,
      label text not null,
      training_data_hash text not null,
      train_from timestamptz,
      train_to timestamptz,
      holdout_from timestamptz,
      holdout_to timestamptz,
      train_rows integer not null,
      holdout_rows integer not null,
      params jsonb not null,
      code_version text not null,
      metrics jsonb not null,
      calibration_curve jsonb not null,
      artifact jsonb not null,
      trained_by text not null,
      trained_at timestamptz not null default now(),
      unique (name, version)
    );

    create table model_aliases (
      name text not null,
      alias text not null check (alias in ('champion', 'challenger', 'shadow')),
      model_id uuid not null references models(id),
      updated_at timestamptz not null default now(),
      updated_by text not null,
      primary key (name, alias)
    );

    -- Latest score per contact and model; the feature snapshot and the factors are what the score used.
    create table lead_scores (
      contact_id uuid not null references contacts(id),
      model_name text not null,
      model_id uuid references models(id),
      model_version integer,
      alias text not null,
      is_prior boolean not null,
      probability double precision not null check (probability >= 0 and probability <= 1),
      factors jsonb not null,
      feature_snapshot jsonb not null,
      as_of timestamptz not null,
      scored_at timestamptz not null default now(),
      primary key (contact_id, model_name, alias)
    );
    create index lead_scores_probability_idx on lead_scores (model_name, alias, probability desc);
  `.execute(db);
}
