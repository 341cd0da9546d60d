// Policies: the versions, what changed between two of them, proposing a change (another policy owner approves
// it), and what a candidate would have done with the recent proposals.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, describeError, query } from '../api.ts';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import { formatDateTime } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { useSignedIn } from '../session.tsx';
import type { PolicyVersion } from '../types.ts';

interface Diff {
  from: number | null;
  to: number;
  lines: { op: ' ' | '-' | '+'; line: string }[];
}

interface Simulation {
  since: string;
  proposals: number;
  candidate: Record<string, number>;
  actual: Record<string, number>;
  changed: number;
  by_rule: Record<string, number>;
  review_load: { reviewer: string; day: string; approvals_needed: number }[];
  review_load_per_reviewer_per_day: { mean: number; max: number };
}

export function PoliciesPage() {
  useDocumentTitle('Policies');
  const session = useSignedIn();
  const canPropose = session.can('policy');
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState<number | null>(null);
  const [against, setAgainst] = useState<number | null>(null);
  const [deciding, setDeciding] = useState<{ version: number; approve: boolean } | null>(null);
  const [flash, setFlash] = useState<Flash | null>(null);

  const policies = useQuery({
    queryKey: ['policies'],
    queryFn: ({ signal }) => api<{ items: PolicyVersion[] }>('/v1/policies', { signal }),
  });
  const items = [...(policies.data?.items ?? [])].sort((a, b) => b.version - a.version);
  const active = items.find((p) => p.status === 'active');
  const current = selected ?? active?.version ?? items[0]?.version ?? null;

  const document = useQuery({
    queryKey: ['policy', current],
    enabled: current !== null,
    queryFn: ({ signal }) => api<PolicyVersion>(`/v1/policies/${current}`, { signal }),
  });
  const diff = useQuery({
    queryKey: ['policy-diff', current, against],
    enabled: current !== null,
    queryFn: ({ signal }) =>
      api<Diff>(`/v1/policies/${current}/diff${query({ against: against ?? undefined })}`, { signal }),
  });
  const decide = useMutation({
    mutationFn: (input: { version: number; approve: boolean; reason: string }) =>
      api(`/v1/policies/${input.version}/decision`, {
        method: 'POST',
        body: { approve: input.approve, reason: input.reason },
      }),
    onSuccess: (_r, input) => {
      setFlash({
        kind: 'ok',
        text: input.approve
          ? `Version ${input.version} is active now.`
          : `Version ${input.version} was rejected.`,
      });
      void queryClient.invalidateQueries({ queryKey: ['policies'] });
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  if (policies.isPending) return <Loading what="the policies" />;
  if (policies.isError) return <ErrorNotice error={policies.error} retry={() => void policies.refetch()} />;

  return (
    <section className="page" aria-labelledby="policies-title">
      <div className="page-head">
        <h1 id="policies-title">Policies</h1>
        <p className="muted">
          The gate between agents and execution. A change is itself a proposal: it becomes active only when
          another policy owner approves it.
        </p>
      </div>
      <FlashBanner flash={flash} />
      {items.length === 0 ? (
        <Empty title="No policy yet." />
      ) : (
        <div className="table-wrap">
          <table className="grid">
            <caption className="sr-only">Policy versions</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Proposed</th>
                <th scope="col">Reason</th>
                <th scope="col">Decided</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.version} className={p.version === current ? 'active' : ''}>
                  <th scope="row">v{p.version}</th>
                  <td>
                    <span className={`status status-${p.status}`}>{p.status}</span>
                  </td>
                  <td>
                    {p.proposed_by}
                    <div className="muted small">{formatDateTime(p.proposed_at)}</div>
                  </td>
                  <td>{p.reason}</td>
                  <td>
                    {p.decided_by ? (
                      <>
                        {p.decided_by}
                        <div className="muted small">
                          {formatDateTime(p.decided_at)} {p.decision_reason ? `· ${p.decision_reason}` : ''}
                        </div>
                      </>
                    ) : (
                      '–'
                    )}
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="small secondary"
                      aria-pressed={p.version === current}
                      onClick={() => {
                        setSelected(p.version);
                        setAgainst(null);
                      }}
                    >
                      View
                    </button>
                    {canPropose && p.status === 'proposed' ? (
                      <>
                        <button
                          type="button"
                          className="small"
                          onClick={() => setDeciding({ version: p.version, approve: true })}
                        >
                          Approve
                        </button>
                        <button
                          type="button"
                          className="small danger"
                          onClick={() => setDeciding({ version: p.version, approve: false })}
                        >
                          Reject
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {current !== null ? (
        <div className="columns">
          <section className="card" aria-labelledby="doc-title">
            <h2 id="doc-title">Version {current}</h2>
            {document.isPending ? (
              <Loading what="the document" />
            ) : document.isError ? (
              <ErrorNotice error={document.error} />
            ) : (
              <pre
                className="policy-doc"
                tabIndex={0}
                role="region"
                aria-label={`Policy version ${current}, YAML`}
              >
                {document.data.document}
              </pre>
            )}
          </section>
          <section className="card" aria-labelledby="diff-title">
            <h2 id="diff-title">What changed</h2>
            <label>
              Compare v{current} with{' '}
              <select
                value={against ?? ''}
                onChange={(e) => setAgainst(e.target.value ? Number(e.target.value) : null)}
              >
                <option value="">the active version</option>
                {items
                  .filter((p) => p.version !== current)
                  .map((p) => (
                    <option key={p.version} value={p.version}>
                      v{p.version} ({p.status})
                    </option>
                  ))}
              </select>
            </label>
            {diff.isPending ? (
              <Loading what="the diff" />
            ) : diff.isError ? (
              <ErrorNotice error={diff.error} />
            ) : diff.data.lines.every((l) => l.op === ' ') ? (
              <p className="muted">No differences.</p>
            ) : (
              <pre
                className="policy-diff"
                tabIndex={0}
                role="region"
                aria-label={`Diff of v${diff.data.to} against v${diff.data.from ?? 'none'}`}
              >
                {diff.data.lines.map((l, i) => (
                  <span key={i} className={l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same'}>
                    {l.op} {l.line}
                    {'\n'}
                  </span>
                ))}
              </pre>
            )}
          </section>
        </div>
      ) : null}

      <Candidate
        base={active?.version ?? null}
        canPropose={canPropose}
        onProposed={(text) => {
          setFlash({ kind: 'ok', text });
          void queryClient.invalidateQueries({ queryKey: ['policies'] });
        }}
      />

      <ReasonDialog
        open={deciding !== null}
        title={
          deciding?.approve ? `Activate policy v${deciding.version}` : `Reject policy v${deciding?.version}`
        }
        subject="The proposer cannot decide their own proposal. Say why; the audit trail keeps it."
        confirm={deciding?.approve ? 'Activate' : 'Reject'}
        minLength={3}
        busy={decide.isPending}
        onClose={() => setDeciding(null)}
        onSubmit={(reason) => {
          if (deciding) decide.mutate({ ...deciding, reason });
          setDeciding(null);
        }}
      />
    </section>
  );
}

function Candidate({
  base,
  canPropose,
  onProposed,
}: {
  base: number | null;
  canPropose: boolean;
  onProposed: (message: string) => void;
}) {
  const [text, setText] = useState<string | null>(null);
  const [since, setSince] = useState('30d');
  const [reason, setReason] = useState('');
  const baseDoc = useQuery({
    queryKey: ['policy', base],
    enabled: base !== null,
    queryFn: ({ signal }) => api<PolicyVersion>(`/v1/policies/${base}`, { signal }),
  });
  useEffect(() => {
    if (text === null && baseDoc.data?.document) setText(baseDoc.data.document);
  }, [baseDoc.data, text]);

  const simulate = useMutation({
    mutationFn: () =>
      api<Simulation>('/v1/policies/simulate', { method: 'POST', body: { document: text ?? '', since } }),
  });
  const propose = useMutation({
    mutationFn: () =>
      api<{ version: number }>('/v1/policies', { method: 'POST', body: { document: text ?? '', reason } }),
    onSuccess: (result) => {
      setReason('');
      onProposed(`Proposed as version ${result.version}; another policy owner must approve it.`);
    },
  });

  return (
    <section className="card" aria-labelledby="candidate-title">
      <h2 id="candidate-title">A candidate policy</h2>
      <p className="muted">
        Start from the active version, change it, and see what it would have done with the recent proposals
        before proposing it.
      </p>
      <label htmlFor="candidate-doc">Policy (YAML)</label>
      <textarea
        id="candidate-doc"
        className="code"
        rows={16}
        spellCheck={false}
        value={text ?? ''}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="inline-form">
        <label>
          Replay proposals of the last
          <select value={since} onChange={(e) => setSince(e.target.value)}>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
          </select>
        </label>
        <button type="button" onClick={() => simulate.mutate()} disabled={simulate.isPending || !text}>
          {simulate.isPending ? 'Simulating…' : 'Simulate'}
        </button>
      </div>
      {simulate.isError ? <ErrorNotice error={simulate.error} /> : null}
      {simulate.data ? <SimulationResult result={simulate.data} /> : null}
      {canPropose ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            propose.mutate();
          }}
        >
          <label>
            Why this change
            <input value={reason} onChange={(e) => setReason(e.target.value)} minLength={3} required />
          </label>
          <button type="submit" disabled={propose.isPending || reason.trim().length < 3 || !text}>
            Propose this version
          </button>
          {propose.isError ? <ErrorNotice error={propose.error} /> : null}
        </form>
      ) : (
        <p className="muted">Proposing a policy needs the policy_owner or admin role.</p>
      )}
    </section>
  );
}

function SimulationResult({ result }: { result: Simulation }) {
  const outcomes = ['auto', 'review', 'block'];
  return (
    <div className="simulation" role="status">
      <p>
        {result.proposals} proposals since {formatDateTime(result.since)}; {result.changed} would have gone
        differently.
      </p>
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Outcome</th>
            <th scope="col">Candidate</th>
            <th scope="col">What happened</th>
          </tr>
        </thead>
        <tbody>
          {outcomes.map((o) => (
            <tr key={o}>
              <th scope="row">
                {o === 'auto' ? 'execute automatically' : o === 'review' ? 'review' : 'block'}
              </th>
              <td className="num">{result.candidate[o] ?? 0}</td>
              <td className="num">{result.actual[o] ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Review load per reviewer per day: mean {result.review_load_per_reviewer_per_day.mean}, max{' '}
        {result.review_load_per_reviewer_per_day.max}.
      </p>
      <details>
        <summary>By rule</summary>
        <ul>
          {Object.entries(result.by_rule).map(([rule, n]) => (
            <li key={rule}>
              {rule}: {n}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}
