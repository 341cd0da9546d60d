// Closing the loop: outcomes linked to the decisions before them (labels), holdout experiments, alarms from
// monitoring (drift, calibration, freshness, error rates) that can trip the circuit breaker, the reference
// distributions drift is measured against, and gauge values refreshed by jobs for /metrics.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Outcomes read from events (one row per event and outcome name): meeting held, became SQL, opportunity
    -- created, won/lost with value, reply, unsubscribe, and explicit outcome.observed events.
    create table outcomes (
      id bigint generated always as identity primary key,
      event_id bigint not null references events(id),
      name text not null,
      positive boolean not null,
      value double precision,
      contact_id uuid,
      account_id uuid,
      opportunity_id uuid,
      occurred_at timestamptz not null,
      created_at timestamptz not null default now(),
      unique (event_id, name)
    );
    create index outcomes_contact_idx on outcomes (contact_id, occurred_at);
    create index outcomes_account_idx on outcomes (account_id, occurred_at);
    create index outcomes_opportunity_idx on outcomes (opportunity_id, occurred_at);

    -- An outcome attributed to a decision that preceded it on the same subject within the attribution window.
    create table decision_outcomes (
      decision_id uuid not null references decisions(id),
      outcome_id bigint not null references outcomes(id),
      -- From the execution (or the decision, when it never executed) to the outcome.
      lag_seconds double precision not null,
      linked_at timestamptz not null default now(),
      primary key (decision_id, outcome_id)
    );
    create index decision_outcomes_outcome_idx on decision_outcomes (outcome_id);

    -- Incremental jobs remember how far they have read (e.g. the last event id turned into outcomes).
    create table feedback_cursors (
      name text primary key,
      position bigint not null default 0,
      updated_at timestamptz not null default now()
    );

    -- Holdout experiments: a share of subjects, by a stable hash of the subject id and the salt, is left to
    -- business as usual; their proposals are recorded but never executed.
    create table experiments (
      id uuid primary key default gen_random_uuid(),
      name text not null unique check (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
      description text,
      subject_type text not null default 'contact' check (subject_type in ('contact', 'account', 'opportunity')),
      salt text not null,
      holdout_share double precision not null check (holdout_share > 0 and holdout_share < 1),
      status text not null default 'active' check (status in ('active', 'stopped')),
      started_at timestamptz not null default now(),
      stopped_at timestamptz,
      created_by text not null,
      created_at timestamptz not null default now()
    );
    -- The arm a subject was first given, kept so it never changes (even if the share is edited later).
    create table experiment_assignments (
      experiment_id uuid not null references experiments(id),
      subject_id uuid not null,
      arm text not null check (arm in ('treatment', 'holdout')),
      assigned_at timestamptz not null default now(),
      primary key (experiment_id, subject_id)
    );
    alter table decisions add column experiment_id uuid references experiments(id);
    alter table decisions add column experiment_arm text check (experiment_arm in ('treatment', 'holdout'));

    -- Alarms from monitoring. One open alarm per kind and key; it is updated while the condition lasts and
    -- resolved when it is gone. An alarm at severity 'alarm' trips the circuit breaker once.
    create table alarms (
      id uuid primary key default gen_random_uuid(),
      kind text not null,
      key text not null,
      model_id uuid references models(id),
      severity text not null check (severity in ('warn', 'alarm')),
      status text not null default 'open' check (status in ('open', 'resolved')),
      value double precision,
      warn_threshold double precision,
      alarm_threshold double precision,
      message text not null,
      details jsonb not null default '{}'::jsonb,
      opened_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      resolved_at timestamptz,
      tripped_breaker_at timestamptz,
      acknowledged_at timestamptz,
      acknowledged_by text,
      acknowledge_reason text
    );
    create unique index alarms_one_open on alarms (kind, key) where status = 'open';
    create index alarms_opened_idx on alarms (opened_at desc);

    -- The breaker remembers the alarm that tripped it.
    alter table circuit_breaker add column alarm_id uuid references alarms(id);

    -- What drift is measured against: the distribution of each feature and of the score on the model's
    -- training window (a sample), stored once per model.
    create table drift_references (
      model_id uuid primary key references models(id),
      window_from timestamptz,
      window_to timestamptz,
      rows integer not null,
      features jsonb not null,
      scores jsonb not null,
      created_at timestamptz not null default now()
    );

    -- The last monitoring report (drift per feature and score, calibration, freshness, error rates).
    create table monitoring_reports (
      id bigint generated always as identity primary key,
      at timestamptz not null default now(),
      report jsonb not null
    );
    create index monitoring_reports_at_idx on monitoring_reports (at desc);

    -- Gauge values computed by jobs; /metrics reads this one small table instead of running the queries.
    create table metric_snapshots (
      name text not null,
      labels jsonb not null default '{}'::jsonb,
      value double precision not null,
      computed_at timestamptz not null default now(),
      primary key (name, labels)
    );

    -- Training labels: each decision with the model inputs it used and what happened after it.
    create view decision_labels as
      select d.id as decision_id, d.agent, d.agent_version, d.action_type, d.subject_type, d.subject_id,
             d.status, d.policy_version, d.experiment_arm, d.confidence, d.created_at as decided_at,
             (d.inputs -> 'model' ->> 'version')::integer as model_version,
             (d.inputs -> 'model' ->> 'probability')::double precision as model_probability,
             d.inputs -> 'feature_snapshot' as feature_snapshot,
             coalesce(bool_or(o.positive) filter (where o.name = 'became_sql'), false) as became_sql,
             coalesce(bool_or(o.positive) filter (where o.name = 'opportunity_created'), false) as opportunity_created,
             coalesce(bool_or(o.positive) filter (where o.name = 'won'), false) as won,
             coalesce(bool_or(o.positive) filter (where o.name = 'replied'), false) as replied,
             coalesce(bool_or(o.positive) filter (where o.name = 'meeting_held'), false) as meeting_held,
             coalesce(bool_or(o.positive) filter (where o.name = 'unsubscribed'), false) as unsubscribed,
             coalesce(jsonb_agg(jsonb_build_object('name', o.name, 'positive', o.positive, 'value', o.value,
                                                   'at', o.occurred_at) order by o.occurred_at)
                      filter (where o.id is not null), '[]'::jsonb) as outcomes
      from decisions d
      left join decision_outcomes l on l.decision_id = d.id
      left join outcomes o on o.id = l.outcome_id
      group by d.id;

    -- Human corrections as signals: every rejection and edit with its reason and the change made.
    create view human_corrections as
      select r.id as review_id, r.decision_id, d.agent, d.agent_version, d.action_type, d.subject_type,
             d.subject_id, r.reviewer_id, r.reviewer, r.verdict, r.reason, d.action as proposed_action,
             r.edited_action, r.diff, d.confidence, (d.inputs -> 'model' ->> 'version')::integer as model_version,
             r.at
      from reviews r
      join decisions d on d.id = r.decision_id
      where r.verdict in ('reject', 'edit');
  `.execute(db);
}
