// The API's answers as the console sees them. Where the server's own type exists it is used through Json<>, so a
// change on the server shows up here as a type error instead of a silent mismatch.
import type * as changes from '../../src/agents/forecast/changes.ts';
import type * as forecastAccuracy from '../../src/feedback/forecast-accuracy.ts';
import type * as funnel from '../../src/feedback/funnel-stages.ts';
import type * as kpis from '../../src/feedback/kpis.ts';
import type * as workload from '../../src/feedback/reviewer-workload.ts';

/** What JSON makes of a server type: dates become ISO strings. */
export type Json<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

// The shapes the console reads from the API (see /openapi.json); only the fields it uses.

export interface UserView {
  id: string;
  email: string;
  name: string;
  kind: string;
  roles: string[];
  team_id: string | null;
  manager_id: string | null;
  timezone: string;
  active: boolean;
}

export interface SessionView {
  user: UserView;
  roles: string[];
  csrf_token: string;
  expires_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ActionView {
  type: string;
  params: Record<string, unknown>;
}

export interface Factor {
  feature: string;
  phrase: string;
  contribution: number;
}

export interface Explanation {
  summary?: string;
  for?: Factor[];
  against?: Factor[];
}

export interface GateView {
  outcome?: string;
  rule?: string | null;
  note?: string;
  reason?: string;
  review?: { bulk?: boolean; role?: string; approvals?: number; deadline?: number; on_deadline?: string };
}

export interface DecisionItem {
  id: string;
  agent: string;
  agent_version: string;
  subject_type: string;
  subject_id: string;
  /** In lists: the contact's name or email, the account's or opportunity's name. */
  subject_name?: string | null;
  action_type: string;
  action: ActionView;
  confidence: number;
  expected_value: number | null;
  risk: number | null;
  explanation: Explanation;
  dissent: string;
  mitigations: string[];
  alternatives: { action: string; why_not: string; expected_value?: number }[];
  status: string;
  gate: GateView | null;
  policy_version: number | null;
  approvals_required: number;
  required_role: string | null;
  deadline_at: string | null;
  on_deadline: string | null;
  escalation_level: number;
  assigned_to: string | null;
  claimed_by: string | null;
  claim_expires_at: string | null;
  approved_action: ActionView | null;
  edited: boolean;
  execution: unknown;
  outcome: unknown;
  created_at: string;
  updated_at: string;
  decided_at: string | null;
  approvals_given?: number;
}

export interface ReviewView {
  id: string;
  reviewer_id: string;
  reviewer: string;
  verdict: string;
  reason: string | null;
  edited_action: ActionView | null;
  diff: DiffLine[] | null;
  at: string;
  seconds_to_decide: number | null;
}

export interface DiffLine {
  field: string;
  before: unknown;
  after: unknown;
}

export interface DecisionDetail extends DecisionItem {
  inputs: {
    model?: { name?: string; version?: number; probability?: number; is_prior?: boolean; alias?: string };
    feature_snapshot?: Record<string, unknown>;
    confidence_method?: string;
    [key: string]: unknown;
  } | null;
  facts: Record<string, unknown> | null;
  current_action: ActionView;
  diff: DiffLine[] | null;
  approvals: { required: number; given: number; approvers: string[] };
  claim: { claimed_by: string; claimed_by_name: string | null; claim_expires_at: string } | null;
  assigned_to_name: string | null;
  reviews: ReviewView[];
  comments: { id: string; author_id: string; author: string; body: string; at: string }[];
  transitions: {
    id: string;
    from_status: string | null;
    to_status: string;
    at: string;
    actor: string;
    reason: string | null;
  }[];
}

export interface TrailStep {
  stage: string;
  at: string | null;
  summary: string;
  details: Record<string, unknown>;
}

export interface StoredEvent {
  id: string;
  source: string;
  type: string;
  occurred_at: string;
  payload: unknown;
}

export interface GraphNode {
  id: string;
  type: string;
  ref_id: string;
  label: string;
  properties: Record<string, unknown>;
  depth: number;
}

export interface Neighbourhood {
  root: GraphNode;
  nodes: GraphNode[];
  edges: { type: string; from: string; to: string; weight: number }[];
  truncated: boolean;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  hash: string;
}

export interface CalibrationBin {
  bin: number;
  count: number;
  lower: number;
  upper: number;
  positives: number;
  observedRate: number;
  meanPredicted: number;
}

export interface ModelVersion {
  id: string;
  name: string;
  version: number;
  kind: string;
  label?: string;
  train_rows?: number;
  holdout_rows?: number;
  holdout_from?: string;
  holdout_to?: string;
  metrics?: {
    holdout?: Record<string, number>;
    champion_on_same_holdout?: Record<string, number> | null;
    /** The holdout's ROC curve, thinned (versions trained before it was stored have none). */
    roc_curve?: { fpr: number; tpr: number }[];
  };
  calibration_curve?: CalibrationBin[];
  trained_by?: string;
  trained_at?: string;
  aliases?: string[];
}

export interface PolicyVersion {
  version: number;
  status: string;
  reason: string;
  proposed_by: string;
  proposed_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
  document?: string;
}

export type FunnelCell = Json<funnel.FunnelCell>;

export type FunnelReport = Json<funnel.FunnelReport>;

// Feedback and monitoring (GET /v1/kpis, /v1/kpis/reviewers, /v1/kpis/forecast, /v1/experiments, /v1/alarms,
// /v1/monitoring/report, /v1/circuit-breaker): the shapes of src/feedback and src/monitoring.
export type KpiBucket = 'day' | 'week' | 'month';
export type KpiGroup = 'none' | 'segment' | 'agent' | 'policy_version' | 'model_version';

export type KpiRow = Json<kpis.KpiRow>;

export type StageCycle = Json<kpis.StageCycle>;

export type ForecastAccuracy = Json<forecastAccuracy.ForecastAccuracy>;

export interface KpiReport {
  from: string;
  to: string;
  bucket: KpiBucket;
  group_by: KpiGroup;
  definitions: Record<string, string>;
  rows: KpiRow[];
  stage_cycle_times: StageCycle[];
  forecast: ForecastAccuracy[];
}

export type ReviewerWorkload = Json<workload.ReviewerWorkload>;

export interface Experiment {
  id: string;
  name: string;
  description: string | null;
  subject_type: string;
  holdout_share: number;
  status: 'active' | 'stopped';
  started_at: string;
  stopped_at: string | null;
  created_by: string;
  created_at: string;
}

export interface Interval {
  low: number;
  high: number;
}

export interface ProportionLift {
  treatment: { n: number; x: number; rate: number | null };
  holdout: { n: number; x: number; rate: number | null };
  difference: number | null;
  interval: Interval | null;
  relative: number | null;
  horizon_days: number;
}

export interface MedianDifference {
  treatment: { n: number; median: number | null };
  holdout: { n: number; median: number | null };
  difference: number | null;
  interval: Interval | null;
}

export interface ExperimentLift {
  experiment: { id: string; name: string; holdout_share: number; status: string; started_at: string };
  from: string;
  to: string;
  subjects: { treatment: number; holdout: number; observed_holdout_share: number | null };
  lead_to_sql: ProportionLift;
  lead_to_opportunity: ProportionLift;
  days_to_sql: MedianDifference;
  decisions: { treatment: number; holdout_blocked: number };
  method: string;
}

export interface RoiReport {
  since: string;
  to: string;
  experiments: ExperimentLift[];
  review: { reviews: number; reviewers: number; hours: number; estimated_reviews: number };
  automatic_executions: number;
}

export interface Alarm {
  id: string;
  kind: string;
  key: string;
  model_id: string | null;
  severity: 'warn' | 'alarm';
  status: 'open' | 'resolved';
  value: number | null;
  warn_threshold: number | null;
  alarm_threshold: number | null;
  message: string;
  opened_at: string;
  updated_at: string;
  resolved_at: string | null;
  tripped_breaker_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledge_reason: string | null;
}

export interface FeatureDrift {
  feature: string;
  type: 'number' | 'category' | 'score';
  psi: number;
  test: 'ks' | 'chi_square';
  statistic: number;
  p_value: number;
  reference_n: number;
  recent_n: number;
}

export interface MonitoringReport {
  at: string;
  drift: {
    model: { id: string; version: number } | null;
    window_days: number;
    reference_rows: number;
    recent_rows: number;
    skipped: string | null;
    features: FeatureDrift[];
  };
  calibration: {
    model: { id: string; version: number } | null;
    labelled: number;
    ece: number | null;
    mean_predicted: number | null;
    observed_rate: number | null;
    holdout_ece: number | null;
  };
  freshness: { backlog: number; oldest_waiting_seconds: number };
  model_age_days: number | null;
  connectors: { connector: string; delivered: number; dead: number; error_rate: number }[];
  jobs: { task: string; failed: number }[];
}

export interface BreakerState {
  open: boolean;
  reason: string | null;
  changed_by: string | null;
  changed_at: string | null;
  trigger: string | null;
  alarm_id: string | null;
}

// Forecast and bottlenecks (GET /v1/forecast, /v1/forecast/scenario, /v1/forecast/backtest, /v1/forecast/changes,
// /v1/bottlenecks): the shapes of src/agents/forecast and src/agents/bottleneck.
export interface ForecastBreakdownRow {
  key: string;
  expected: number;
  won_to_date: number;
  deals: number;
}

export interface ForecastPeriod {
  label: string;
  start: string;
  end: string;
  expected: number;
  p10: number;
  p50: number;
  p90: number;
  won_to_date: number;
  from_open: number;
  from_new: number;
  breakdown: { segment: ForecastBreakdownRow[]; owner: ForecastBreakdownRow[] };
}

export interface ForecastScenario {
  win_rate: number;
  cycle_time: number;
  pipeline_creation: number;
}

export interface ForecastView {
  run_id: string | null;
  as_of: string;
  period_kind: 'month' | 'quarter';
  scenario: ForecastScenario | null;
  periods: ForecastPeriod[];
  deals: number;
  /** Present on scenario answers: the same forecast without the changes. */
  baseline?: { label: string; expected: number; p10: number; p90: number }[];
}

export interface BacktestPeriod {
  period: string;
  as_of: string;
  actual: number;
  forecast: number;
  p10: number;
  p90: number;
  last_period: number;
  stage_weighted: number;
  error: { forecast: number | null; last_period: number | null; stage_weighted: number | null };
}

export interface BacktestSummary {
  kind: string;
  periods: BacktestPeriod[];
  mape: { forecast: number; last_period: number; stage_weighted: number };
  bias: { forecast: number; last_period: number; stage_weighted: number };
  coverage_p10_p90: number;
}

export type DealMove = Json<changes.DealMove>;

export type ForecastChanges = Json<changes.ForecastChanges>;

export interface BottleneckFinding {
  id: string;
  key: string;
  object: 'opportunity' | 'contact';
  stage: string;
  dimension: 'all' | 'segment' | 'region' | 'owner' | 'product';
  segment_value: string;
  kind: 'slowdown' | 'conversion_drop';
  status: 'open' | 'resolved';
  start_date: string | null;
  effect: number;
  p_value: number;
  q_value: number;
  summary: string;
  first_detected_at: string;
  last_detected_at: string;
  resolved_at: string | null;
  decision_id: string | null;
}
