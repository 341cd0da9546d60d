// Bottleneck findings and forecast runs. A finding is a stage (and the segment that explains it) whose time in
// stage or conversion changed significantly; its remediation proposals are decisions about the finding, so the
// decisions table learns a fourth subject type. Forecast runs keep every period's figure and each open deal's
// probability, so forecast error can be measured once a period is over and week-over-week changes explained.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table bottleneck_findings (
      id uuid primary key default gen_random_uuid(),
      -- object|stage|dimension|value|kind: the same finding seen again updates its row while it is open.
      key text not null,
      object text not null check (object in ('opportunity', 'contact')),
      stage text not null,
      dimension text not null check (dimension in ('all', 'segment', 'region', 'owner', 'product')),
      segment_value text not null,
      kind text not null check (kind in ('slowdown', 'conversion_drop')),
      status text not null default 'open' check (status in ('open', 'resolved')),
      start_date timestamptz,
      effect double precision not null,
      p_value double precision not null,
      q_value double precision not null,
      summary text not null,
      details jsonb not null,
      first_detected_at timestamptz not null,
      last_detected_at timestamptz not null,
      resolved_at timestamptz,
      decision_id uuid references decisions(id)
    );
    create unique index bottleneck_findings_one_open on bottleneck_findings (key) where status = 'open';
    create index bottleneck_findings_detected_idx on bottleneck_findings (last_detected_at desc);

    create table forecast_runs (
      id uuid primary key default gen_random_uuid(),
      as_of timestamptz not null,
      period_kind text not null check (period_kind in ('month', 'quarter')),
      -- Null for the plain forecast; the changed assumptions for a scenario (never used as "the" forecast).
      scenario jsonb,
      model jsonb not null,
      created_by text not null,
      created_at timestamptz not null default now()
    );
    create index forecast_runs_as_of_idx on forecast_runs (period_kind, as_of desc) where scenario is null;

    create table forecast_run_periods (
      run_id uuid not null references forecast_runs(id) on delete cascade,
      period_start timestamptz not null,
      period_end timestamptz not null,
      label text not null,
      expected double precision not null,
      p10 double precision not null,
      p50 double precision not null,
      p90 double precision not null,
      won_to_date double precision not null,
      from_open double precision not null,
      from_new double precision not null,
      breakdown jsonb not null,
      primary key (run_id, period_start)
    );
    create index forecast_run_periods_period_idx on forecast_run_periods (period_start, period_end);

    create table forecast_run_deals (
      run_id uuid not null references forecast_runs(id) on delete cascade,
      opportunity_id uuid not null,
      name text not null,
      stage text not null,
      owner text not null,
      segment text not null,
      value double precision not null,
      -- Probability of being won by the end of the current and of the next period.
      p_current double precision not null,
      p_next double precision not null,
      primary key (run_id, opportunity_id)
    );

    alter table decisions drop constraint if exists decisions_subject_type_check;
    alter table decisions add constraint decisions_subject_type_check
      check (subject_type in ('contact', 'account', 'opportunity', 'bottleneck'));
  `.execute(db);
}
