// One decision, as a reviewer needs it: what would happen, how sure the agent is and how far to trust that, what
// it is worth, the factors for and against, the best argument against it and what limits the damage, who the
// contact is and what they did lately, the reviews so far, and the whole trail from the events to the execution.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Action } from '../../../src/agents/actions.ts';
import { api, describeError, query } from '../api.ts';
import { DiffTable } from '../components/DiffTable.tsx';
import { EditForm } from '../components/EditForm.tsx';
import { FactorsChart } from '../components/FactorsChart.tsx';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import {
  ACTION_LABELS,
  describeAction,
  describeAlternative,
  formatDateTime,
  formatMoney,
  formatPercent,
  formatRelative,
  humanize,
  slaLevel,
} from '../format.ts';
import { useDocumentTitle, useNow, useUsers } from '../hooks.ts';
import { Link, useLocation } from '../router.tsx';
import { mayReview, useSignedIn } from '../session.tsx';
import type {
  AuditEntry,
  DecisionDetail,
  ModelVersion,
  Neighbourhood,
  Page,
  StoredEvent,
  TrailStep,
} from '../types.ts';

const MOVING = new Set(['approved', 'edited_approved', 'auto_approved', 'executing']);

interface ContactView {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  title: string | null;
  lifecycle_stage: string;
  country: string | null;
  account_id: string | null;
  owner_id: string | null;
}

interface AccountView {
  id: string;
  name: string | null;
  domain: string | null;
  industry: string | null;
  size_band: string | null;
  region: string | null;
  tier: string | null;
}

interface OutboxRow {
  id: string;
  kind: string;
  connector: string;
  status: string;
  attempts: number;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  payload: unknown;
}

export function DecisionPage({ id }: { id: string }) {
  const session = useSignedIn();
  const queryClient = useQueryClient();
  const { search } = useLocation();
  const { users, person } = useUsers();
  const now = useNow(1000);
  const [editing, setEditing] = useState(search.get('edit') === '1');
  const [rejecting, setRejecting] = useState(false);
  const [flash, setFlash] = useState<Flash | null>(null);

  const detail = useQuery({
    queryKey: ['decision', id],
    queryFn: ({ signal }) => api<DecisionDetail>(`/v1/decisions/${id}`, { signal }),
    refetchInterval: (q) => {
      const status = q.state.data?.status;
      return status && MOVING.has(status) ? 1500 : status === 'pending_review' ? 5000 : false;
    },
  });
  const d = detail.data;
  const contactId =
    d?.subject_type === 'contact'
      ? d.subject_id
      : (d?.current_action.params['contact_id'] as string | undefined);

  const contact = useQuery({
    queryKey: ['contact', contactId],
    enabled: Boolean(contactId),
    queryFn: ({ signal }) => api<ContactView>(`/v1/contacts/${contactId}`, { signal }),
  });
  const contactName = contact.data
    ? [contact.data.first_name, contact.data.last_name].filter(Boolean).join(' ') ||
      contact.data.email ||
      'the contact'
    : undefined;
  useDocumentTitle(
    d
      ? `${ACTION_LABELS[d.action_type] ?? d.action_type}${contactName ? `: ${contactName}` : ''}`
      : 'Decision',
  );

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['decision', id] });
    void queryClient.invalidateQueries({ queryKey: ['trail', id] });
    void queryClient.invalidateQueries({ queryKey: ['decision-audit', id] });
    void queryClient.invalidateQueries({ queryKey: ['inbox'] });
  };

  const review = useMutation({
    mutationFn: (body: { verdict: 'approve' | 'reject' | 'edit'; reason?: string; action?: unknown }) =>
      api<{ status: string; diff: unknown }>(`/v1/decisions/${id}/reviews`, { method: 'POST', body }),
    onSuccess: (result, body) => {
      const verb =
        body.verdict === 'reject' ? 'Rejected' : body.verdict === 'edit' ? 'Edited and approved' : 'Approved';
      setFlash({
        kind: 'ok',
        text:
          result.status === 'pending_review'
            ? `${verb}; it needs another approver before it runs.`
            : body.verdict === 'reject'
              ? 'Rejected. Nothing will run.'
              : `${verb}. It executes now; the execution appears below.`,
      });
      setEditing(false);
      refresh();
    },
    onError: (error) => {
      setFlash({ kind: 'error', text: describeError(error) });
      refresh();
    },
  });

  const claim = useMutation({
    mutationFn: (release: boolean) => api(`/v1/decisions/${id}/claim`, { method: 'POST', body: { release } }),
    onSuccess: refresh,
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  if (detail.isPending) return <Loading what="the decision" />;
  if (detail.isError || !d) return <ErrorNotice error={detail.error} retry={() => void detail.refetch()} />;

  const pending = d.status === 'pending_review';
  const canReviewThis = session.can('review') && mayReview(session.roles, d.required_role);
  const claimedByOther = d.claim && d.claim.claimed_by !== session.user.id;
  const alreadyReviewed = d.reviews.some((r) => r.reviewer_id === session.user.id);
  const names = { person, ...(contactName ? { subject: contactName } : {}) };
  const level = slaLevel(d.deadline_at, now);

  return (
    <article className="page decision" aria-labelledby="decision-title">
      <p className="crumbs">
        <Link href="/inbox">← Inbox</Link>
      </p>
      <header className="decision-head">
        <h1 id="decision-title">
          {ACTION_LABELS[d.action_type] ?? d.action_type}
          {contactName ? `: ${contactName}` : ''}
        </h1>
        <span className={`status status-${d.status}`}>{humanize(d.status)}</span>
      </header>
      <p className="plain-action" data-testid="plain-action">
        {describeAction(d.current_action, names)}
      </p>
      {d.diff && d.diff.length > 0 ? (
        <p className="muted">
          Edited: the proposal was to {describeAction(d.action, names).replace(/^./, (c) => c.toLowerCase())}
        </p>
      ) : null}

      <FlashBanner flash={flash} />

      <section className="card review-panel" aria-labelledby="review-title">
        <h2 id="review-title">Review</h2>
        <dl className="facts">
          <div>
            <dt>Approvals</dt>
            <dd>
              {d.approvals.given} of {d.approvals.required} ({d.required_role ?? 'reviewer'} role)
            </dd>
          </div>
          <div>
            <dt>Deadline</dt>
            <dd className={`sla-${level}`}>
              {d.deadline_at ? (
                <>
                  {formatDateTime(d.deadline_at)} ({pending ? formatRelative(d.deadline_at, now) : 'closed'});
                  then {d.on_deadline ?? 'expire'}
                </>
              ) : (
                'none'
              )}
            </dd>
          </div>
          <div>
            <dt>Policy</dt>
            <dd>
              version {d.policy_version ?? '–'}
              {d.gate?.rule ? `, rule “${d.gate.rule}”` : d.gate?.note ? ` (${d.gate.note})` : ''}
              {d.gate?.review?.bulk ? '; bulk approval allowed' : ''}
            </dd>
          </div>
          <div>
            <dt>Assigned</dt>
            <dd>{d.assigned_to_name ?? 'nobody yet'}</dd>
          </div>
          {d.claim ? (
            <div>
              <dt>Claimed</dt>
              <dd>
                by {d.claim.claimed_by === session.user.id ? 'you' : (d.claim.claimed_by_name ?? 'someone')}{' '}
                until {formatDateTime(d.claim.claim_expires_at)}
              </dd>
            </div>
          ) : null}
        </dl>

        {pending && canReviewThis && !editing ? (
          <div className="review-actions">
            <button
              type="button"
              disabled={review.isPending || Boolean(claimedByOther) || alreadyReviewed}
              onClick={() => review.mutate({ verdict: 'approve', action: d.current_action })}
            >
              Approve
            </button>
            <button
              type="button"
              className="secondary"
              disabled={review.isPending || Boolean(claimedByOther) || alreadyReviewed}
              onClick={() => {
                setEditing(true);
                if (!d.claim) claim.mutate(false);
              }}
            >
              Edit…
            </button>
            <button
              type="button"
              className="danger"
              disabled={review.isPending || Boolean(claimedByOther) || alreadyReviewed}
              onClick={() => setRejecting(true)}
            >
              Reject…
            </button>
            {d.claim?.claimed_by === session.user.id ? (
              <button type="button" className="link" onClick={() => claim.mutate(true)}>
                Release my claim
              </button>
            ) : !d.claim ? (
              <button type="button" className="link" onClick={() => claim.mutate(false)}>
                Claim for 10 minutes
              </button>
            ) : null}
            {alreadyReviewed ? (
              <p className="muted">You reviewed this already; another reviewer decides next.</p>
            ) : null}
            {claimedByOther ? <p className="muted">Someone else is reviewing it right now.</p> : null}
          </div>
        ) : null}
        {pending && !canReviewThis ? (
          <p className="muted">
            Read only: reviewing this needs the {d.required_role ?? 'reviewer'} role; you have{' '}
            {session.roles.join(', ')}.
          </p>
        ) : null}
        {editing && pending && canReviewThis ? (
          <EditForm
            proposed={d.action}
            current={d.current_action}
            users={users}
            busy={review.isPending}
            onCancel={() => setEditing(false)}
            onSubmit={(action: Action, reason: string) => review.mutate({ verdict: 'edit', action, reason })}
          />
        ) : null}
        {!pending && d.approved_action && d.diff && d.diff.length > 0 ? (
          <DiffTable diff={d.diff} caption="Approved version against the proposal" />
        ) : null}
      </section>

      <div className="columns">
        <section className="card" aria-labelledby="why-title">
          <h2 id="why-title">Why the agent proposes it</h2>
          {d.explanation?.summary ? <p>{d.explanation.summary}</p> : null}
          <Confidence detail={d} />
          <dl className="facts">
            <div>
              <dt>Expected value</dt>
              <dd>{formatMoney(d.expected_value)}</dd>
            </div>
            <div>
              <dt>Risk (expected loss if wrong)</dt>
              <dd>{formatMoney(d.risk)}</dd>
            </div>
            {typeof d.facts?.['deal_size'] === 'number' ? (
              <div>
                <dt>Typical deal</dt>
                <dd>{formatMoney(Number(d.facts['deal_size']))}</dd>
              </div>
            ) : null}
            {d.facts?.['segment'] ? (
              <div>
                <dt>Segment</dt>
                <dd>{humanize(String(d.facts['segment']))}</dd>
              </div>
            ) : null}
            <div>
              <dt>Agent</dt>
              <dd>
                {humanize(d.agent)} {d.agent_version}
              </dd>
            </div>
          </dl>
          <h3>Top factors</h3>
          <FactorsChart factorsFor={d.explanation?.for ?? []} against={d.explanation?.against ?? []} />
        </section>

        <section className="card" aria-labelledby="dissent-title">
          <h2 id="dissent-title">The case against</h2>
          <p className="dissent">{d.dissent}</p>
          <h3>What limits the damage</h3>
          <ul>
            {d.mitigations.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
          {d.alternatives.length > 0 ? (
            <>
              <h3>Alternatives considered</h3>
              <ul>
                {d.alternatives.map((a) => (
                  <li key={a.action}>
                    <strong>
                      {describeAlternative(
                        a.action,
                        typeof d.action.params['timezone'] === 'string'
                          ? d.action.params['timezone']
                          : undefined,
                      )}
                    </strong>
                    : {a.why_not}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>
      </div>

      {contactId ? (
        <ContactContext contactId={contactId} contact={contact.data} contactError={contact.error} />
      ) : null}

      <div className="columns">
        <section className="card" aria-labelledby="reviews-title">
          <h2 id="reviews-title">Reviews so far</h2>
          {d.reviews.length === 0 ? (
            <p className="muted">No reviews yet.</p>
          ) : (
            <ol className="reviews">
              {d.reviews.map((r) => (
                <li key={r.id}>
                  <strong>{humanize(r.verdict)}</strong> by {r.reviewer} · {formatDateTime(r.at)}
                  {r.reason ? <div>“{r.reason}”</div> : null}
                  {r.diff && r.diff.length > 0 ? <DiffTable diff={r.diff} caption="Their edit" /> : null}
                </li>
              ))}
            </ol>
          )}
          <Comments detail={d} canComment={session.can('review')} onAdded={refresh} />
        </section>
        <Execution id={id} status={d.status} />
      </div>

      <Trail id={id} status={d.status} />

      <ReasonDialog
        open={rejecting}
        title="Reject this proposal"
        subject={describeAction(d.current_action, names)}
        confirm="Reject"
        minLength={1}
        busy={review.isPending}
        onClose={() => setRejecting(false)}
        onSubmit={(reason) => {
          setRejecting(false);
          review.mutate({ verdict: 'reject', reason });
        }}
      />
    </article>
  );
}

/** The confidence, and how far the model's probabilities held up on its holdout around this value. */
function Confidence({ detail }: { detail: DecisionDetail }) {
  const model = detail.inputs?.model;
  const models = useQuery({
    queryKey: ['models', model?.name],
    enabled: Boolean(model?.name && model.version),
    queryFn: ({ signal }) => api<{ items: ModelVersion[] }>(`/v1/models/${model!.name}`, { signal }),
    staleTime: 60_000,
  });
  const version = models.data?.items.find((m) => m.version === model?.version);
  const p = model?.probability;
  const bins = version?.calibration_curve ?? [];
  const bin =
    p === undefined ? undefined : bins.find((b) => p >= b.lower && (p < b.upper || (b.upper >= 1 && p <= 1)));
  const ece = version?.metrics?.holdout?.['ece'];
  return (
    <div className="confidence">
      <p>
        <span className="big">{formatPercent(detail.confidence)}</span> confidence
        {detail.inputs?.confidence_method ? (
          <span className="muted"> ({detail.inputs.confidence_method})</span>
        ) : null}
      </p>
      {model && p !== undefined ? (
        <p className="muted">
          {model.is_prior
            ? `The score came from the cold-start prior (no trained model yet): ${formatPercent(p)}; treat it as a rough guess.`
            : `Model ${model.name} v${model.version} scored ${formatPercent(p, 1)}.`}{' '}
          {bin
            ? `On its holdout, ${bin.count} leads were scored ${formatPercent(bin.lower)}–${formatPercent(bin.upper)}; ${formatPercent(
                bin.observedRate,
                1,
              )} of them converted (the model predicted ${formatPercent(bin.meanPredicted, 1)}).`
            : version
              ? 'The holdout had no leads scored in this range, so there is no calibration evidence here.'
              : ''}
          {ece !== undefined ? ` Calibration error (ECE) ${formatPercent(ece, 1)}.` : ''}
        </p>
      ) : null}
    </div>
  );
}

function ContactContext({
  contactId,
  contact,
  contactError,
}: {
  contactId: string;
  contact: ContactView | undefined;
  contactError: unknown;
}) {
  const events = useQuery({
    queryKey: ['events', contactId],
    queryFn: ({ signal }) =>
      api<Page<StoredEvent>>(`/v1/events${query({ contact_id: contactId, limit: 15 })}`, { signal }),
  });
  const graph = useQuery({
    queryKey: ['graph', contactId],
    queryFn: ({ signal }) => api<Neighbourhood>(`/v1/graph/contact/${contactId}?depth=1`, { signal }),
    retry: false,
  });
  const accountId = contact?.account_id ?? null;
  const account = useQuery({
    queryKey: ['account', accountId],
    enabled: Boolean(accountId),
    queryFn: ({ signal }) => api<AccountView>(`/v1/accounts/${accountId}`, { signal }),
  });
  const { person } = useUsers();
  const neighbours = (graph.data?.nodes ?? []).filter((n) => n.depth > 0);
  return (
    <div className="columns">
      <section className="card" aria-labelledby="contact-title">
        <h2 id="contact-title">Contact</h2>
        {contactError ? (
          <ErrorNotice error={contactError} />
        ) : !contact ? (
          <Loading what="the contact" />
        ) : (
          <dl className="facts">
            <div>
              <dt>Name</dt>
              <dd>{[contact.first_name, contact.last_name].filter(Boolean).join(' ') || '–'}</dd>
            </div>
            <div>
              <dt>Title</dt>
              <dd>{contact.title ?? '–'}</dd>
            </div>
            <div>
              <dt>Email</dt>
              <dd>{contact.email ?? '–'}</dd>
            </div>
            <div>
              <dt>Account</dt>
              <dd>
                {!contact.account_id
                  ? 'none (a free-mail address or no company yet)'
                  : account.data
                    ? [
                        account.data.name ?? account.data.domain ?? 'unnamed',
                        account.data.domain && account.data.name ? `(${account.data.domain})` : '',
                        account.data.industry ? `· ${humanize(account.data.industry)}` : '',
                        account.data.size_band ? `· ${humanize(account.data.size_band)}` : '',
                        account.data.region ? `· ${account.data.region}` : '',
                      ]
                        .filter(Boolean)
                        .join(' ')
                    : account.isError
                      ? describeError(account.error)
                      : 'loading…'}
              </dd>
            </div>
            <div>
              <dt>Owner</dt>
              <dd>{contact.owner_id ? person(contact.owner_id) : 'nobody'}</dd>
            </div>
            <div>
              <dt>Stage</dt>
              <dd>{humanize(contact.lifecycle_stage)}</dd>
            </div>
            <div>
              <dt>Country</dt>
              <dd>{contact.country ?? '–'}</dd>
            </div>
          </dl>
        )}
        <h3>Graph neighbours</h3>
        {graph.isPending ? (
          <Loading what="the graph" />
        ) : graph.isError ? (
          <p className="muted">Not in the knowledge graph yet ({describeError(graph.error)}).</p>
        ) : neighbours.length === 0 ? (
          <p className="muted">No neighbours.</p>
        ) : (
          <ul className="neighbours">
            {neighbours.map((n) => (
              <li key={n.id}>
                <span className="badge">{n.type}</span> {n.label}
                {n.properties['industry'] ? (
                  <span className="muted"> · {String(n.properties['industry'])}</span>
                ) : null}
                {n.properties['size_band'] ? (
                  <span className="muted"> · {humanize(String(n.properties['size_band']))}</span>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="activity-title">
        <h2 id="activity-title">Recent activity</h2>
        {events.isPending ? (
          <Loading what="the activity" />
        ) : events.isError ? (
          <ErrorNotice error={events.error} />
        ) : events.data.items.length === 0 ? (
          <p className="muted">No events recorded for this contact.</p>
        ) : (
          <ol className="timeline">
            {events.data.items.map((e) => (
              <li key={e.id}>
                <time dateTime={e.occurred_at}>{formatDateTime(e.occurred_at)}</time>{' '}
                <span>{humanize(e.type.replaceAll('.', ' '))}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}

function Comments({
  detail,
  canComment,
  onAdded,
}: {
  detail: DecisionDetail;
  canComment: boolean;
  onAdded: () => void;
}) {
  const [body, setBody] = useState('');
  const add = useMutation({
    mutationFn: () => api(`/v1/decisions/${detail.id}/comments`, { method: 'POST', body: { body } }),
    onSuccess: () => {
      setBody('');
      onAdded();
    },
  });
  return (
    <>
      <h3>Comments</h3>
      {detail.comments.length === 0 ? <p className="muted">No comments.</p> : null}
      <ul className="comments">
        {detail.comments.map((c) => (
          <li key={c.id}>
            <strong>{c.author}</strong> · {formatDateTime(c.at)}
            <div>{c.body}</div>
          </li>
        ))}
      </ul>
      {canComment ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (body.trim()) add.mutate();
          }}
        >
          <label htmlFor="comment-input">Add a comment</label>
          <textarea id="comment-input" rows={2} value={body} onChange={(e) => setBody(e.target.value)} />
          {add.isError ? <ErrorNotice error={add.error} /> : null}
          <button type="submit" className="secondary" disabled={add.isPending || !body.trim()}>
            Comment
          </button>
        </form>
      ) : null}
    </>
  );
}

function Execution({ id, status }: { id: string; status: string }) {
  const moving = MOVING.has(status);
  const outbox = useQuery({
    queryKey: ['outbox', id, status],
    queryFn: ({ signal }) => api<Page<OutboxRow>>(`/v1/outbox${query({ decision_id: id })}`, { signal }),
    refetchInterval: moving ? 1500 : false,
  });
  const audit = useQuery({
    queryKey: ['decision-audit', id, status],
    queryFn: ({ signal }) =>
      api<Page<AuditEntry>>(`/v1/audit${query({ subject_id: id, limit: 50 })}`, { signal }),
    refetchInterval: moving ? 1500 : false,
  });
  return (
    <section className="card" aria-labelledby="execution-title">
      <h2 id="execution-title">Execution</h2>
      {outbox.isPending ? (
        <Loading what="the deliveries" />
      ) : outbox.isError ? (
        <ErrorNotice error={outbox.error} />
      ) : outbox.data.items.length === 0 ? (
        <p className="muted">Nothing sent: only an approved action is delivered.</p>
      ) : (
        <ul className="deliveries" aria-label="Deliveries">
          {outbox.data.items.map((o) => (
            <li key={o.id} data-testid="delivery">
              <span className={`status status-${o.status}`}>{o.status}</span> {o.kind} via {o.connector},
              attempt {o.attempts}
              {o.delivered_at ? ` · delivered ${formatDateTime(o.delivered_at)}` : ''}
              {o.last_error ? <div className="field-error">{o.last_error}</div> : null}
            </li>
          ))}
        </ul>
      )}
      <h3>Audit entries</h3>
      {audit.isPending ? (
        <Loading what="the audit entries" />
      ) : audit.isError ? (
        <ErrorNotice error={audit.error} />
      ) : audit.data.items.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ol className="audit-mini" aria-label="Audit entries for this decision">
          {audit.data.items.map((a) => (
            <li key={a.id} data-testid="audit-entry">
              <code>{a.action}</code> by {a.actor} · {formatDateTime(a.at)}
              {a.reason ? <div className="muted small">{a.reason}</div> : null}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Trail({ id, status }: { id: string; status: string }) {
  const trail = useQuery({
    queryKey: ['trail', id, status],
    queryFn: ({ signal }) =>
      api<{ steps: TrailStep[]; status: string }>(`/v1/decisions/${id}/trail`, { signal }),
  });
  return (
    <section className="card" aria-labelledby="trail-title">
      <h2 id="trail-title">The full trail</h2>
      <p className="muted">Events → features → model → agent → policy → reviews → execution → outcome.</p>
      {trail.isPending ? (
        <Loading what="the trail" />
      ) : trail.isError ? (
        <ErrorNotice error={trail.error} />
      ) : trail.data.steps.length === 0 ? (
        <Empty title="No trail recorded." />
      ) : (
        <ol className="trail">
          {trail.data.steps.map((step, i) => (
            <li key={i} className={`trail-step trail-${step.stage}`}>
              <div className="trail-head">
                <span className="badge">{step.stage}</span>
                {step.at ? <time dateTime={step.at}>{formatDateTime(step.at)}</time> : null}
              </div>
              <p>{step.summary}</p>
              <details>
                <summary>Details</summary>
                <pre tabIndex={0} role="region" aria-label={`Details of the ${step.stage} step`}>
                  {JSON.stringify(step.details, null, 2).slice(0, 20_000)}
                </pre>
              </details>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
