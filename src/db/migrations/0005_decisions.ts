import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Policies are versioned documents. A new version is proposed, and becomes active only when another
    -- policy owner approves it; exactly one version is active.
    create table policies (
      version integer primary key,
      document text not null,
      parsed jsonb not null,
      status text not null check (status in ('proposed', 'active', 'superseded', 'rejected')),
      reason text not null,
      proposed_by text not null,
      proposed_by_id uuid references users(id),
      proposed_at timestamptz not null default now(),
      decided_by text,
      decided_by_id uuid references users(id),
      decided_at timestamptz,
      decision_reason text
    );
    create unique index policies_one_active on policies ((true)) where status = 'active';

    -- The global circuit breaker: while open, every proposal goes to a human.
    create table circuit_breaker (
      id smallint primary key default 1 check (id = 1),
      open boolean not null default false,
      reason text,
      changed_by text,
      changed_at timestamptz,
      trigger text
    );
    insert into circuit_breaker (id, open) values (1, false);

    create table decisions (
      id uuid primary key default gen_random_uuid(),
      agent text not null,
      agent_version text not null,
      subject_type text not null check (subject_type in ('contact', 'account', 'opportunity')),
      subject_id uuid not null,
      action_type text not null,
      -- One open proposal per subject and kind of action.
      action_kind text not null,
      action jsonb not null,
      confidence double precision not null check (confidence >= 0 and confidence <= 1),
      expected_value double precision,
      risk double precision,
      explanation jsonb not null,
      dissent text not null,
      mitigations jsonb not null,
      alternatives jsonb not null,
      inputs jsonb not null,
      facts jsonb not null,
      status text not null,
      gate jsonb,
      policy_version integer references policies(version),
      approvals_required integer not null default 0,
      required_role text,
      deadline_at timestamptz,
      on_deadline text check (on_deadline in ('expire', 'deny')),
      escalation_level integer not null default 0,
      next_escalation_at timestamptz,
      assigned_to uuid references users(id),
      claimed_by uuid references users(id),
      claim_expires_at timestamptz,
      -- Frozen when approved (as proposed, or as edited): exactly this executes.
      approved_action jsonb,
      edited boolean not null default false,
      execution jsonb,
      outcome jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      decided_at timestamptz
    );
    create unique index decisions_one_open on decisions (subject_type, subject_id, action_kind)
      where status in ('proposed', 'pending_review', 'auto_approved', 'approved', 'edited_approved', 'executing');
    create index decisions_status_idx on decisions (status, created_at);
    create index decisions_inbox_idx on decisions (assigned_to, deadline_at) where status = 'pending_review';
    create index decisions_deadline_idx on decisions (deadline_at) where status = 'pending_review';
    create index decisions_subject_idx on decisions (subject_type, subject_id, created_at);

    create table decision_transitions (
      id bigint generated always as identity primary key,
      decision_id uuid not null references decisions(id),
      from_status text,
      to_status text not null,
      at timestamptz not null default now(),
      actor text not null,
      reason text,
      details jsonb
    );
    create index decision_transitions_decision_idx on decision_transitions (decision_id, id);

    create table reviews (
      id uuid primary key default gen_random_uuid(),
      decision_id uuid not null references decisions(id),
      reviewer_id uuid not null references users(id),
      reviewer text not null,
      verdict text not null check (verdict in ('approve', 'reject', 'edit')),
      reason text,
      edited_action jsonb,
      diff jsonb,
      at timestamptz not null default now(),
      seconds_to_decide double precision
    );
    create unique index reviews_one_per_reviewer on reviews (decision_id, reviewer_id);
    create index reviews_reviewer_idx on reviews (reviewer_id, at);

    create table decision_comments (
      id uuid primary key default gen_random_uuid(),
      decision_id uuid not null references decisions(id),
      author_id uuid not null references users(id),
      author text not null,
      body text not null,
      at timestamptz not null default now()
    );
    create index decision_comments_decision_idx on decision_comments (decision_id, at);

    -- The transactional outbox: written in the same transaction as the approval; delivered at most once per
    -- idempotency key by the connectors.
    create table outbox (
      id uuid primary key default gen_random_uuid(),
      decision_id uuid not null references decisions(id),
      kind text not null check (kind in ('action', 'compensation')),
      connector text not null,
      idempotency_key text not null unique,
      payload jsonb not null,
      status text not null check (status in ('pending', 'delivering', 'delivered', 'dead')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text,
      response jsonb,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';
    create index outbox_decision_idx on outbox (decision_id);

    create table connector_state (
      connector text primary key,
      consecutive_failures integer not null default 0,
      open_until timestamptz,
      updated_at timestamptz not null default now()
    );
  `.execute(db);
}
