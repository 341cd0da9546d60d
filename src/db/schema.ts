// Table types for Kysely, kept next to the migrations that create them. Generated<T> marks columns with a
// database default; ColumnType<Select, Insert, Update> where they differ.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;
/** numeric comes back from node-postgres as a string to keep its precision. */
type Numeric = ColumnType<string, number | string | null | undefined, number | string | null>;

export interface WorkingHours {
  days: number[];
  start: string;
  end: string;
}

export interface TerritoriesTable {
  id: Generated<string>;
  name: string;
  region: string;
  rules: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface TeamsTable {
  id: Generated<string>;
  name: string;
  territory_id: string | null;
  manager_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  kind: Generated<'human' | 'machine'>;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  team_id: string | null;
  manager_id: string | null;
  territory_id: string | null;
  capacity: Generated<number>;
  skills: ColumnType<string[], string[] | undefined, string[]>;
  timezone: Generated<string>;
  working_hours: Json<WorkingHours>;
  active: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id_hash: Buffer;
  user_id: string;
  token_id: string;
  csrf_secret: string;
  created_at: CreatedAt;
  expires_at: Date;
  last_seen_at: Generated<Date>;
  user_agent: string | null;
}

export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_hash: Buffer;
  display_prefix: string;
  roles: string[];
  created_by: string | null;
  created_at: CreatedAt;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

export interface ProductsTable {
  id: Generated<string>;
  sku: string;
  name: string;
  family: string | null;
  list_price: Numeric;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface AccountsTable {
  id: Generated<string>;
  field_times: Json<Record<string, string>>;
  domain: string | null;
  name: string;
  industry: string | null;
  employees: number | null;
  size_band: string | null;
  annual_revenue: Numeric;
  region: string | null;
  country: string | null;
  tier: string | null;
  parent_id: string | null;
  owner_id: string | null;
  territory_id: string | null;
  merged_into_id: string | null;
  attributes: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ContactsTable {
  id: Generated<string>;
  field_times: Json<Record<string, string>>;
  account_id: string | null;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  title: string | null;
  seniority: string | null;
  department: string | null;
  lifecycle_stage: Generated<string>;
  lifecycle_stage_at: Date | null;
  owner_id: string | null;
  timezone: string | null;
  country: string | null;
  merged_into_id: string | null;
  attributes: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface OpportunitiesTable {
  id: Generated<string>;
  field_times: Json<Record<string, string>>;
  account_id: string | null;
  product_id: string | null;
  name: string;
  stage: string;
  status: Generated<'open' | 'won' | 'lost'>;
  amount: Numeric;
  currency: Generated<string>;
  owner_id: string | null;
  opened_at: Timestamp;
  expected_close_date: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  closed_at: Date | null;
  attributes: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface OpportunityContactsTable {
  opportunity_id: string;
  contact_id: string;
  role: string | null;
}

export interface StageHistoryColumns {
  id: Generated<string>;
  from_stage: string | null;
  to_stage: string;
  changed_at: Timestamp;
  event_id: string | null;
}
export interface ContactStageHistoryTable extends StageHistoryColumns {
  contact_id: string;
}
export interface OpportunityStageHistoryTable extends StageHistoryColumns {
  opportunity_id: string;
}

export type IngestChannel = 'http' | 'webhook' | 'csv' | 'nats' | 'simulator' | 'replay';

export interface IngestBatchesTable {
  id: Generated<string>;
  source: string;
  channel: IngestChannel;
  mapping_version: string | null;
  description: string | null;
  created_by: string | null;
  started_at: CreatedAt;
  finished_at: Date | null;
  accepted: Generated<number>;
  duplicate: Generated<number>;
  quarantined: Generated<number>;
}

export interface EventsTable {
  /** bigint; node-postgres returns it as a string. */
  id: Generated<string>;
  source: string;
  source_event_id: string;
  type: string;
  type_known: boolean;
  occurred_at: Timestamp;
  received_at: CreatedAt;
  contact_id: string | null;
  account_id: string | null;
  opportunity_id: string | null;
  subject: string | null;
  payload: Json<unknown>;
  batch_id: string | null;
  mapping_version: string | null;
  contact_keys: ColumnType<string[], string[] | undefined, string[]>;
  account_keys: ColumnType<string[], string[] | undefined, string[]>;
}

export interface SourcesTable {
  name: string;
  description: string | null;
  timezone: Generated<string>;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface SourceSecretsTable {
  id: Generated<string>;
  source: string;
  secret: string;
  created_at: CreatedAt;
  expires_at: Date | null;
}

export interface WebhookReceiptsTable {
  source: string;
  webhook_id: string;
  received_at: CreatedAt;
}

export type IdentityKind = 'contact' | 'account' | 'opportunity';

export interface IdentityKeysTable {
  kind: IdentityKind;
  key: string;
  entity_id: string;
  created_at: CreatedAt;
}

export interface IdentityMergesTable {
  id: Generated<string>;
  kind: 'contact' | 'account';
  survivor_id: string;
  merged_id: string;
  evidence: Json<unknown>;
  moved_keys: string[];
  merged_at: CreatedAt;
  merged_by: Generated<string>;
  unmerged_at: Date | null;
  unmerged_by: string | null;
  unmerge_reason: string | null;
}

export interface QuarantineTable {
  id: Generated<string>;
  batch_id: string | null;
  channel: string;
  source: string | null;
  source_event_id: string | null;
  record_number: number | null;
  reason_code: string;
  reason: string;
  errors: Json<unknown>;
  raw: Json<unknown>;
  mapping_version: string | null;
  status: Generated<'open' | 'replayed' | 'discarded'>;
  received_at: CreatedAt;
  resolved_at: Date | null;
  resolved_by: string | null;
  replay_event_id: string | null;
}

export interface SimulationRunsTable {
  id: Generated<string>;
  seed: number;
  params: Json<unknown>;
  ground_truth: Json<unknown>;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string;
  actor_id: string | null;
  action: string;
  subject_type: string;
  subject_id: string | null;
  reason: string | null;
  before: Json<unknown> | null;
  after: Json<unknown> | null;
  prev_hash: string;
  hash: string;
}

export interface FeatureDefinitionsTable {
  name: string;
  version: number;
  entity: string;
  description: string;
  window_days: number | null;
  computation_hash: string;
  registered_at: CreatedAt;
}

export interface FeatureSetsTable {
  name: string;
  version: number;
  features: string[];
  registered_at: CreatedAt;
}

export interface FeatureValuesTable {
  entity_type: string;
  entity_id: string;
  feature_set: string;
  feature_set_version: number;
  as_of: Timestamp;
  values: Json<Record<string, number | string | null>>;
  computed_at: CreatedAt;
}

export interface DirtyContactsTable {
  contact_id: string;
  marked_at: CreatedAt;
}

export interface ModelsTable {
  id: Generated<string>;
  name: string;
  version: number;
  kind: string;
  feature_set: string;
  feature_set_version: number;
  label: string;
  training_data_hash: string;
  train_from: Date | null;
  train_to: Date | null;
  holdout_from: Date | null;
  holdout_to: Date | null;
  train_rows: number;
  holdout_rows: number;
  params: Json<unknown>;
  code_version: string;
  metrics: Json<Record<string, unknown>>;
  calibration_curve: Json<unknown>;
  artifact: Json<unknown>;
  trained_by: string;
  trained_at: CreatedAt;
}

export type ModelAlias = 'champion' | 'challenger' | 'shadow';

export interface ModelAliasesTable {
  name: string;
  alias: ModelAlias;
  model_id: string;
  updated_at: Timestamp;
  updated_by: string;
}

export interface LeadScoresTable {
  contact_id: string;
  model_name: string;
  model_id: string | null;
  model_version: number | null;
  alias: string;
  is_prior: boolean;
  probability: number;
  factors: Json<unknown>;
  feature_snapshot: Json<unknown>;
  as_of: Timestamp;
  scored_at: Timestamp;
}

export type GraphNodeType =
  'account' | 'contact' | 'opportunity' | 'product' | 'rep' | 'territory' | 'industry';
export type GraphEdgeType =
  | 'works_at'
  | 'parent_of'
  | 'involved_in'
  | 'owns'
  | 'interested_in'
  | 'similar_to'
  | 'in_territory'
  | 'in_industry';

export interface GraphNodesTable {
  id: Generated<string>;
  type: GraphNodeType;
  ref_id: string;
  label: string;
  properties: Json;
  updated_at: Timestamp;
}

export interface GraphEdgesTable {
  /** bigint; node-postgres returns it as a string. */
  id: Generated<string>;
  type: GraphEdgeType;
  from_node: string;
  to_node: string;
  weight: Generated<number>;
  properties: Json;
  valid_from: Date | null;
  updated_at: Timestamp;
}

export interface GraphFeaturesTable {
  entity_type: Exclude<GraphNodeType, 'industry'>;
  entity_id: string;
  name: string;
  value: number;
  as_of: Timestamp;
  computed_at: Timestamp;
  version: string;
}

export interface PoliciesTable {
  version: number;
  document: string;
  parsed: Json<unknown>;
  status: 'proposed' | 'active' | 'superseded' | 'rejected';
  reason: string;
  proposed_by: string;
  proposed_by_id: string | null;
  proposed_at: CreatedAt;
  decided_by: string | null;
  decided_by_id: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
}

export interface CircuitBreakerTable {
  id: Generated<number>;
  open: boolean;
  reason: string | null;
  changed_by: string | null;
  changed_at: Date | null;
  trigger: string | null;
  alarm_id: Generated<string | null>;
}

export interface DecisionsTable {
  id: Generated<string>;
  agent: string;
  agent_version: string;
  subject_type: 'contact' | 'account' | 'opportunity' | 'bottleneck';
  subject_id: string;
  action_type: string;
  action_kind: string;
  action: Json<unknown>;
  confidence: number;
  expected_value: number | null;
  risk: number | null;
  explanation: Json<unknown>;
  dissent: string;
  mitigations: Json<unknown>;
  alternatives: Json<unknown>;
  inputs: Json<unknown>;
  facts: Json<unknown>;
  status: string;
  gate: Json<unknown> | null;
  policy_version: number | null;
  approvals_required: Generated<number>;
  required_role: string | null;
  deadline_at: Date | null;
  on_deadline: 'expire' | 'deny' | null;
  escalation_level: Generated<number>;
  next_escalation_at: Date | null;
  assigned_to: string | null;
  claimed_by: string | null;
  claim_expires_at: Date | null;
  approved_action: Json<unknown> | null;
  edited: Generated<boolean>;
  execution: Json<unknown> | null;
  outcome: Json<unknown> | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  decided_at: Date | null;
  experiment_id: Generated<string | null>;
  experiment_arm: Generated<'treatment' | 'holdout' | null>;
}

export interface DecisionTransitionsTable {
  id: Generated<string>;
  decision_id: string;
  from_status: string | null;
  to_status: string;
  at: CreatedAt;
  actor: string;
  reason: string | null;
  details: Json<unknown> | null;
}

export interface ReviewsTable {
  id: Generated<string>;
  decision_id: string;
  reviewer_id: string;
  reviewer: string;
  verdict: 'approve' | 'reject' | 'edit';
  reason: string | null;
  edited_action: Json<unknown> | null;
  diff: Json<unknown> | null;
  at: CreatedAt;
  seconds_to_decide: number | null;
}

export interface DecisionCommentsTable {
  id: Generated<string>;
  decision_id: string;
  author_id: string;
  author: string;
  body: string;
  at: CreatedAt;
}

export interface OutboxTable {
  id: Generated<string>;
  decision_id: string;
  kind: 'action' | 'compensation';
  connector: string;
  idempotency_key: string;
  payload: Json<unknown>;
  status: 'pending' | 'delivering' | 'delivered' | 'dead';
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  response: Json<unknown> | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ConnectorStateTable {
  connector: string;
  consecutive_failures: Generated<number>;
  open_until: Date | null;
  updated_at: Timestamp;
}

export interface OutcomesTable {
  /** bigint; node-postgres returns it as a string. */
  id: Generated<string>;
  event_id: string;
  name: string;
  positive: boolean;
  value: number | null;
  contact_id: string | null;
  account_id: string | null;
  opportunity_id: string | null;
  occurred_at: Date;
  created_at: CreatedAt;
}

export interface DecisionOutcomesTable {
  decision_id: string;
  outcome_id: string;
  lag_seconds: number;
  linked_at: CreatedAt;
}

export interface FeedbackCursorsTable {
  name: string;
  position: string;
  updated_at: Timestamp;
}

export interface ExperimentsTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  subject_type: Generated<'contact' | 'account' | 'opportunity'>;
  salt: string;
  holdout_share: number;
  status: Generated<'active' | 'stopped'>;
  started_at: Timestamp;
  stopped_at: Date | null;
  created_by: string;
  created_at: CreatedAt;
}

export interface ExperimentAssignmentsTable {
  experiment_id: string;
  subject_id: string;
  arm: 'treatment' | 'holdout';
  assigned_at: Timestamp;
}

export interface AlarmsTable {
  id: Generated<string>;
  kind: string;
  key: string;
  model_id: string | null;
  severity: 'warn' | 'alarm';
  status: Generated<'open' | 'resolved'>;
  value: number | null;
  warn_threshold: number | null;
  alarm_threshold: number | null;
  message: string;
  details: Json<unknown>;
  opened_at: Timestamp;
  updated_at: Timestamp;
  resolved_at: Date | null;
  tripped_breaker_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  acknowledge_reason: string | null;
}

export interface DriftReferencesTable {
  model_id: string;
  window_from: Date | null;
  window_to: Date | null;
  rows: number;
  features: Json<unknown>;
  scores: Json<unknown>;
  created_at: CreatedAt;
}

export interface MonitoringReportsTable {
  id: Generated<string>;
  at: CreatedAt;
  report: Json<unknown>;
}

export interface MetricSnapshotsTable {
  name: string;
  labels: Json<Record<string, string>>;
  value: number;
  computed_at: Timestamp;
}

export interface BottleneckFindingsTable {
  id: Generated<string>;
  key: string;
  object: 'opportunity' | 'contact';
  stage: string;
  dimension: 'all' | 'segment' | 'region' | 'owner' | 'product';
  segment_value: string;
  kind: 'slowdown' | 'conversion_drop';
  status: Generated<'open' | 'resolved'>;
  start_date: Date | null;
  effect: number;
  p_value: number;
  q_value: number;
  summary: string;
  details: Json<unknown>;
  first_detected_at: Date;
  last_detected_at: Date;
  resolved_at: Date | null;
  decision_id: string | null;
}

export interface ForecastRunsTable {
  id: Generated<string>;
  as_of: Date;
  period_kind: 'month' | 'quarter';
  scenario: Json<unknown> | null;
  model: Json<unknown>;
  created_by: string;
  created_at: CreatedAt;
}

export interface ForecastRunPeriodsTable {
  run_id: string;
  period_start: Date;
  period_end: Date;
  label: string;
  expected: number;
  p10: number;
  p50: number;
  p90: number;
  won_to_date: number;
  from_open: number;
  from_new: number;
  breakdown: Json<unknown>;
}

export interface ForecastRunDealsTable {
  run_id: string;
  opportunity_id: string;
  name: string;
  stage: string;
  owner: string;
  segment: string;
  value: number;
  p_current: number;
  p_next: number;
}

export interface Database {
  bottleneck_findings: BottleneckFindingsTable;
  forecast_runs: ForecastRunsTable;
  forecast_run_periods: ForecastRunPeriodsTable;
  forecast_run_deals: ForecastRunDealsTable;
  outcomes: OutcomesTable;
  decision_outcomes: DecisionOutcomesTable;
  feedback_cursors: FeedbackCursorsTable;
  experiments: ExperimentsTable;
  experiment_assignments: ExperimentAssignmentsTable;
  alarms: AlarmsTable;
  drift_references: DriftReferencesTable;
  monitoring_reports: MonitoringReportsTable;
  metric_snapshots: MetricSnapshotsTable;
  territories: TerritoriesTable;
  teams: TeamsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  products: ProductsTable;
  accounts: AccountsTable;
  contacts: ContactsTable;
  opportunities: OpportunitiesTable;
  opportunity_contacts: OpportunityContactsTable;
  contact_stage_history: ContactStageHistoryTable;
  opportunity_stage_history: OpportunityStageHistoryTable;
  ingest_batches: IngestBatchesTable;
  events: EventsTable;
  sources: SourcesTable;
  source_secrets: SourceSecretsTable;
  webhook_receipts: WebhookReceiptsTable;
  identity_keys: IdentityKeysTable;
  identity_merges: IdentityMergesTable;
  quarantine: QuarantineTable;
  simulation_runs: SimulationRunsTable;
  audit_log: AuditLogTable;
  feature_definitions: FeatureDefinitionsTable;
  feature_sets: FeatureSetsTable;
  feature_values: FeatureValuesTable;
  dirty_contacts: DirtyContactsTable;
  models: ModelsTable;
  model_aliases: ModelAliasesTable;
  lead_scores: LeadScoresTable;
  policies: PoliciesTable;
  circuit_breaker: CircuitBreakerTable;
  decisions: DecisionsTable;
  decision_transitions: DecisionTransitionsTable;
  reviews: ReviewsTable;
  decision_comments: DecisionCommentsTable;
  outbox: OutboxTable;
  connector_state: ConnectorStateTable;
  graph_nodes: GraphNodesTable;
  graph_edges: GraphEdgesTable;
  graph_features: GraphFeaturesTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type Account = Selectable<AccountsTable>;
export type Contact = Selectable<ContactsTable>;
export type Opportunity = Selectable<OpportunitiesTable>;
export type StoredEvent = Selectable<EventsTable>;
export type QuarantinedRecord = Selectable<QuarantineTable>;
export type Source = Selectable<SourcesTable>;
