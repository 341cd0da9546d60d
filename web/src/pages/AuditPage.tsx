// The audit trail: who did what, when and why, searchable; and whether the hash chain is intact.
import { useState, type FormEvent } from 'react';
import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/react-query';
import { api, query } from '../api.ts';
import { Empty, ErrorNotice, Loading } from '../components/States.tsx';
import { formatDateTime } from '../format.ts';
import { useDocumentTitle } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { AuditEntry, Page } from '../types.ts';

interface Search {
  action: string;
  actor: string;
  subject_id: string;
  from: string;
  to: string;
}
const EMPTY: Search = { action: '', actor: '', subject_id: '', from: '', to: '' };

interface Verification {
  ok: boolean;
  checked: number;
  first_broken?: { id: string; reason: string };
}

function toIso(date: string, endOfDay: boolean): string {
  if (!date) return '';
  return new Date(`${date}T${endOfDay ? '23:59:59.999' : '00:00:00'}Z`).toISOString();
}

export function AuditPage() {
  useDocumentTitle('Audit');
  const [draft, setDraft] = useState<Search>(EMPTY);
  const [search, setSearch] = useState<Search>(EMPTY);
  const [open, setOpen] = useState<string | null>(null);

  const entries = useInfiniteQuery({
    queryKey: ['audit', search],
    initialPageParam: '',
    queryFn: ({ pageParam, signal }) =>
      api<Page<AuditEntry>>(
        `/v1/audit${query({
          limit: 50,
          cursor: pageParam,
          action: search.action,
          actor: search.actor,
          subject_id: search.subject_id,
          from: toIso(search.from, false),
          to: toIso(search.to, true),
        })}`,
        { signal },
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  const verification = useQuery({
    queryKey: ['audit-verify'],
    queryFn: () => api<Verification>('/v1/audit/verify', { method: 'POST' }),
    staleTime: 60_000,
  });
  const verifyAgain = useMutation({
    mutationFn: () => verification.refetch(),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSearch({
      ...draft,
      action: draft.action.trim(),
      actor: draft.actor.trim(),
      subject_id: draft.subject_id.trim(),
    });
  };
  const items = entries.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section className="page" aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit trail</h1>
        <p className="muted">
          Append-only and hash-chained: each entry carries the hash of the one before it.
        </p>
      </div>

      <div className="card chain" aria-live="polite">
        <h2>Chain verification</h2>
        {verification.isPending ? (
          <Loading what="the verification" />
        ) : verification.isError ? (
          <ErrorNotice error={verification.error} retry={() => void verification.refetch()} />
        ) : verification.data.ok ? (
          <p className="banner banner-ok" data-testid="chain-status">
            Intact: all {verification.data.checked} entries verified.
          </p>
        ) : (
          <p className="banner banner-error" role="alert" data-testid="chain-status">
            Broken at entry {verification.data.first_broken?.id}: {verification.data.first_broken?.reason}.
            Someone changed, removed or reordered entries in the database.
          </p>
        )}
        <button
          type="button"
          className="secondary"
          disabled={verification.isFetching}
          onClick={() => verifyAgain.mutate()}
        >
          {verification.isFetching ? 'Verifying…' : 'Verify again'}
        </button>
      </div>

      <form className="filters" onSubmit={submit} aria-label="Search the audit trail">
        <label>
          Action
          <input
            value={draft.action}
            placeholder="decision.review"
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          />
        </label>
        <label>
          Actor
          <input
            value={draft.actor}
            placeholder="email"
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
          />
        </label>
        <label>
          Subject id
          <input
            value={draft.subject_id}
            onChange={(e) => setDraft({ ...draft, subject_id: e.target.value })}
          />
        </label>
        <label>
          From
          <input
            type="date"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </label>
        <label>
          To
          <input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          className="link"
          onClick={() => {
            setDraft(EMPTY);
            setSearch(EMPTY);
          }}
        >
          Clear
        </button>
      </form>

      {entries.isPending ? (
        <Loading what="the audit trail" />
      ) : entries.isError ? (
        <ErrorNotice error={entries.error} retry={() => void entries.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No entries match.">
          <p>Actions are names like decision.review, policy.propose, model.promote, session.create.</p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="grid">
            <caption className="sr-only">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
                <th scope="col">Reason</th>
                <th scope="col">
                  <span className="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((entry) => (
                <AuditRow
                  key={entry.id}
                  entry={entry}
                  open={open === entry.id}
                  onToggle={() => setOpen(open === entry.id ? null : entry.id)}
                />
              ))}
            </tbody>
          </table>
          {entries.hasNextPage ? (
            <button
              type="button"
              className="secondary"
              disabled={entries.isFetchingNextPage}
              onClick={() => void entries.fetchNextPage()}
            >
              {entries.isFetchingNextPage ? 'Loading…' : 'Load older entries'}
            </button>
          ) : null}
        </div>
      )}
    </section>
  );
}

function AuditRow({ entry, open, onToggle }: { entry: AuditEntry; open: boolean; onToggle: () => void }) {
  return (
    <>
      <tr>
        <td className="num">{entry.id}</td>
        <td>
          <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
        </td>
        <td>{entry.actor}</td>
        <td>
          <code>{entry.action}</code>
        </td>
        <td>
          {entry.subject_type === 'decision' && entry.subject_id ? (
            <Link href={`/decisions/${entry.subject_id}`}>decision {entry.subject_id.slice(0, 8)}</Link>
          ) : (
            <>
              {entry.subject_type} {entry.subject_id?.slice(0, 12) ?? ''}
            </>
          )}
        </td>
        <td>{entry.reason ?? ''}</td>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {open ? 'Hide' : 'Before/after'}
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="details-row">
          <td colSpan={7}>
            <div className="before-after">
              <div>
                <h3>Before</h3>
                <pre tabIndex={0}>{JSON.stringify(entry.before, null, 2) ?? 'null'}</pre>
              </div>
              <div>
                <h3>After</h3>
                <pre tabIndex={0}>{JSON.stringify(entry.after, null, 2) ?? 'null'}</pre>
              </div>
            </div>
            <p className="muted small">hash {entry.hash}</p>
          </td>
        </tr>
      ) : null}
    </>
  );
}
