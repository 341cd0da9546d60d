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

export interface FunnelCell {
  month: string | null;
  group: string | null;
  stage: string;
  entered: number;
  advanced: number;
  lost: number;
  open: number;
  conversion_rate: number | null;
  median_days: number | null;
  mean_days: number | null;
}

export interface FunnelReport {
  object: string;
  group_by: string;
  stages: string[];
  groups: string[];
  rows: FunnelCell[];
  totals: FunnelCell[];
}
