// Bottleneck findings (GET /v1/bottlenecks): stages, and the segment that explains it, that slowed down or
// convert less than in their own history, with the remediation proposed through the gate. Running detection now
// is for policy owners (POST /v1/bottlenecks/run).
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, describeError, query } from '../api.ts';
import { ScrollTable } from '../components/ScrollTable.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import { formatDateTime, humanize } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSignedIn } from '../session.tsx';
import type { BottleneckFinding } from '../types.ts';

const effectOf = (f: BottleneckFinding) =>
  f.kind === 'slowdown' ? `${f.effect.toFixed(1)}× slower` : `${Math.round(-f.effect * 100)} points less`;

export function BottlenecksPage() {
  useDocumentTitle('Bottlenecks');
  const session = useSignedIn();
  const canRun = session.can('policy');
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<'open' | 'resolved' | ''>('open');
  const [flash, setFlash] = useState<Flash | null>(null);
  const findings = useQuery({
    queryKey: ['bottlenecks', status],
    queryFn: ({ signal }) =>
      api<{ items: BottleneckFinding[] }>(`/v1/bottlenecks${query({ status, limit: 100 })}`, { signal }),
  });
  const run = useMutation({
    mutationFn: () =>
      api<{ findings: unknown[] }>('/v1/bottlenecks/run', {
        method: 'POST',
        body: { object: 'opportunity' },
      }),
    onSuccess: (result) => {
      setFlash({ kind: 'ok', text: `Detection ran: ${result.findings.length} findings.` });
      void queryClient.invalidateQueries({ queryKey: ['bottlenecks'] });
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });
  return (
    <section className="page" aria-labelledby="bottlenecks-title">
      <div className="page-head">
        <h1 id="bottlenecks-title">Bottlenecks</h1>
        <p className="muted">
          Per stage, time in stage (open items count) and conversion against the stage’s own history and
          across segments, regions, owners and products; only significant changes after correcting for the
          many tests. Each finding proposes a remedy that goes through the gate like any proposal.
        </p>
      </div>
      <FlashBanner flash={flash} />
      <form className="filters" aria-label="Which findings" onSubmit={(e) => e.preventDefault()}>
        <label>
          Show
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="open">Open</option>
            <option value="resolved">Resolved</option>
            <option value="">All</option>
          </select>
        </label>
        {canRun ? (
          <button type="button" className="secondary" disabled={run.isPending} onClick={() => run.mutate()}>
            Run detection now
          </button>
        ) : null}
      </form>
      {findings.isPending ? (
        <Loading what="the findings" />
      ) : findings.isError ? (
        <ErrorNotice error={findings.error} retry={() => void findings.refetch()} />
      ) : findings.data.items.length === 0 ? (
        <Empty title={status === 'open' ? 'No open bottleneck.' : 'No findings.'}>
          <p>Detection runs every day over the stage histories.</p>
        </Empty>
      ) : (
        <ScrollTable label="Bottleneck findings">
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col">Where</th>
                <th scope="col">Effect</th>
                <th scope="col">Since</th>
                <th scope="col">q-value</th>
                <th scope="col">Finding</th>
                <th scope="col">Remedy</th>
              </tr>
            </thead>
            <tbody>
              {findings.data.items.map((f) => (
                <tr key={f.id} data-finding={`${f.stage}:${f.segment_value}`}>
                  <th scope="row">
                    {humanize(f.stage)}
                    <div className="muted small">
                      {f.object === 'opportunity' ? 'opportunities' : 'leads'} · {f.status}
                    </div>
                  </th>
                  <td>
                    {f.dimension === 'all' ? 'everywhere' : `${humanize(f.dimension)} ${f.segment_value}`}
                  </td>
                  <td className="num">{effectOf(f)}</td>
                  <td>{f.start_date ? f.start_date.slice(0, 10) : '–'}</td>
                  <td className="num">
                    {f.q_value < 1e-4 ? f.q_value.toExponential(1) : f.q_value.toFixed(4)}
                  </td>
                  <td>
                    {f.summary}
                    <div className="muted small">
                      found {formatDateTime(f.first_detected_at)}, last {formatDateTime(f.last_detected_at)}
                    </div>
                  </td>
                  <td>
                    {f.decision_id ? (
                      <Link href={`/decisions/${f.decision_id}`}>Proposal</Link>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}
