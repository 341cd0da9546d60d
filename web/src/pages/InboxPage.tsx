// The review inbox: proposals waiting for the signed-in reviewer and their team. Sortable, filterable, driven
// from the keyboard (j/k, a, r, e, x, ?), bulk approve/reject where the policy allows, refreshed every few seconds
// so items arriving or taken by someone else show up without a reload.
import { useEffect, useMemo, useRef, useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  createColumnHelper,
  createSortedRowModel,
  rowSortingFeature,
  sortFn_basic,
  tableFeatures,
  useTable,
  type SortingState,
} from '@tanstack/react-table';
import { api, describeError, query } from '../api.ts';
import { Dialog } from '../components/Dialog.tsx';
import { ReasonDialog } from '../components/ReasonDialog.tsx';
import { Empty, ErrorNotice, type Flash, FlashBanner, Loading } from '../components/States.tsx';
import {
  ACTION_LABELS,
  describeAction,
  formatDuration,
  formatMoney,
  formatPercent,
  formatRelative,
  humanize,
  slaLevel,
} from '../format.ts';
import { useDocumentTitle, useNow, useUsers } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { mayReview, useSignedIn } from '../session.tsx';
import type { DecisionDetail, DecisionItem, Page } from '../types.ts';

type Scope = 'team' | 'mine' | 'all';

interface Filters {
  agent: string;
  action_type: string;
  risk_max: string;
  confidence_min: string;
  expected_value_min: string;
  due_within_hours: string;
}

const NO_FILTERS: Filters = {
  agent: '',
  action_type: '',
  risk_max: '',
  confidence_min: '',
  expected_value_min: '',
  due_within_hours: '',
};

const POLL_MS = 4_000;
const features = tableFeatures({
  rowSortingFeature,
  sortedRowModel: createSortedRowModel(),
  sortFns: { basic: sortFn_basic },
});
const helper = createColumnHelper<typeof features, DecisionItem>();
const emptyRows: DecisionItem[] = [];

function bulkApprovable(item: DecisionItem): boolean {
  return item.gate?.review?.bulk === true && item.approvals_required === 1;
}

function claimedByOther(item: DecisionItem, me: string, now: number): boolean {
  return Boolean(
    item.claimed_by &&
    item.claimed_by !== me &&
    item.claim_expires_at &&
    new Date(item.claim_expires_at).getTime() > now,
  );
}

export function InboxPage() {
  useDocumentTitle('Inbox');
  const session = useSignedIn();
  const me = session.user.id;
  const canReview = session.can('review');
  const queryClient = useQueryClient();
  const [mentioned, setMentioned] = useState<(string | null)[]>([]);
  const { byId, person } = useUsers(mentioned);
  const now = useNow(1000);

  const [scope, setScope] = useState<Scope>(canReview ? 'team' : 'all');
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [sorting, setSorting] = useState<SortingState>([{ id: 'due', desc: false }]);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [done, setDone] = useState<Set<string>>(new Set());
  const [rejecting, setRejecting] = useState<DecisionItem | null>(null);
  const [bulk, setBulk] = useState<'approve' | 'reject' | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [flash, setFlash] = useState<Flash | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const rowRefs = useRef(new Map<string, HTMLTableRowElement>());
  const keyboardMoved = useRef(false);

  const agents = useQuery({
    queryKey: ['agents'],
    queryFn: ({ signal }) => api<{ items: { name: string }[] }>('/v1/agents', { signal }),
    staleTime: 10 * 60_000,
  });

  const apiFilters = useMemo(
    () => ({
      status: 'pending_review',
      limit: 500,
      sort: 'due',
      agent: filters.agent,
      action_type: filters.action_type,
      risk_max: filters.risk_max,
      confidence_min: filters.confidence_min ? Number(filters.confidence_min) / 100 : '',
      expected_value_min: filters.expected_value_min,
      due_before: filters.due_within_hours
        ? new Date(Date.now() + Number(filters.due_within_hours) * 3_600_000).toISOString()
        : '',
    }),
    // due_before is computed when the filter changes, not every second.
    [filters],
  );

  const inbox = useQuery({
    queryKey: ['inbox', apiFilters],
    queryFn: ({ signal }) => api<Page<DecisionItem>>(`/v1/decisions${query(apiFilters)}`, { signal }),
    refetchInterval: POLL_MS,
    refetchIntervalInBackground: false,
    placeholderData: keepPreviousData,
  });

  useEffect(() => {
    const ids = new Set<string>();
    for (const item of inbox.data?.items ?? []) {
      if (item.assigned_to) ids.add(item.assigned_to);
      if (item.claimed_by) ids.add(item.claimed_by);
    }
    setMentioned((before) =>
      before.length === ids.size && before.every((id) => id !== null && ids.has(id)) ? before : [...ids],
    );
  }, [inbox.data]);

  // The team: people in the reviewer's team (or just the reviewer), and items nobody was assigned yet.
  const teamIds = useMemo(() => {
    const mine = byId.get(me);
    const ids = new Set<string>([me]);
    if (mine?.team_id) for (const u of byId.values()) if (u.team_id === mine.team_id) ids.add(u.id);
    return ids;
  }, [byId, me]);

  const rows = useMemo(() => {
    const items = inbox.data?.items ?? emptyRows;
    const visible = items.filter((item) => {
      if (done.has(item.id)) return false;
      if (scope === 'all') return true;
      if (!mayReview(session.roles, item.required_role)) return false;
      if (scope === 'mine') return item.assigned_to === me;
      return !item.assigned_to || teamIds.has(item.assigned_to);
    });
    return visible.length === items.length ? items : visible;
  }, [inbox.data, done, scope, session.roles, me, teamIds]);

  // Live updates: say what changed since the last poll (screen readers hear it too).
  const previous = useRef<Map<string, DecisionItem> | null>(null);
  useEffect(() => {
    const items = inbox.data?.items;
    if (!items) return;
    const current = new Map(items.map((i) => [i.id, i]));
    const before = previous.current;
    previous.current = current;
    if (!before) return;
    const arrived = items.filter((i) => !before.has(i.id)).length;
    const gone = [...before.keys()].filter((id) => !current.has(id) && !done.has(id)).length;
    const taken = items.filter(
      (i) => claimedByOther(i, me, Date.now()) && !claimedByOther(before.get(i.id) ?? i, me, 0),
    ).length;
    const parts = [];
    if (arrived) parts.push(`${arrived} new proposal${arrived === 1 ? '' : 's'} arrived`);
    if (taken) parts.push(`${taken} claimed by someone else`);
    if (gone) parts.push(`${gone} decided or withdrawn elsewhere`);
    if (parts.length) setAnnouncement(`${parts.join('; ')}.`);
  }, [inbox.data, done, me]);

  const columns = useMemo(
    () =>
      helper.columns([
        helper.display({
          id: 'select',
          header: () => <span className="sr-only">Selected</span>,
          cell: () => null,
        }),
        helper.accessor((d) => d.action_type, {
          id: 'action',
          header: 'Proposal',
          enableSorting: false,
        }),
        helper.accessor((d) => d.agent, { id: 'agent', header: 'Agent', sortFn: 'basic' }),
        helper.accessor((d) => d.confidence, {
          id: 'confidence',
          header: 'Confidence',
          sortFn: 'basic',
          sortDescFirst: true,
        }),
        helper.accessor((d) => d.expected_value ?? undefined, {
          id: 'value',
          header: 'Value',
          sortFn: 'basic',
          sortUndefined: 'last',
          sortDescFirst: true,
        }),
        helper.accessor((d) => d.risk ?? undefined, {
          id: 'risk',
          header: 'Risk',
          sortFn: 'basic',
          sortUndefined: 'last',
          sortDescFirst: true,
        }),
        helper.accessor((d) => (d.deadline_at ? new Date(d.deadline_at).getTime() : undefined), {
          id: 'due',
          header: 'Due',
          sortFn: 'basic',
          sortUndefined: 'last',
        }),
        helper.display({ id: 'approvals', header: 'Approvals' }),
        helper.display({ id: 'actions', header: () => <span className="sr-only">Actions</span> }),
      ]),
    [],
  );

  const table = useTable({
    features,
    columns,
    data: rows,
    state: { sorting },
    onSortingChange: setSorting,
    getRowId: (row) => row.id,
    enableSortingRemoval: false,
  });
  const sortedRows = table.getRowModel().rows.map((r) => r.original);
  const activeIndex = Math.max(
    0,
    sortedRows.findIndex((d) => d.id === activeId),
  );
  const active: DecisionItem | undefined = sortedRows[activeIndex];

  useEffect(() => {
    if (!keyboardMoved.current || !active) return;
    keyboardMoved.current = false;
    rowRefs.current.get(active.id)?.focus();
  }, [active]);

  // Selections of items that left the inbox go away with them.
  useEffect(() => {
    setSelected((s) => {
      const ids = new Set(rows.map((r) => r.id));
      const kept = new Set([...s].filter((id) => ids.has(id)));
      return kept.size === s.size ? s : kept;
    });
  }, [rows]);

  const refresh = () => queryClient.invalidateQueries({ queryKey: ['inbox'] });

  const review = useMutation({
    mutationFn: async (input: { item: DecisionItem; verdict: 'approve' | 'reject'; reason?: string }) => {
      const { item, verdict, reason } = input;
      if (verdict === 'approve') {
        // Approve exactly what the reviewer saw: an edited proposal is reviewed on its own page.
        const detail = await api<DecisionDetail>(`/v1/decisions/${item.id}`);
        if (detail.diff && detail.diff.length > 0) {
          throw new Error(
            'This proposal was edited by another reviewer; open it to review the edited version.',
          );
        }
        return api<{ status: string }>(`/v1/decisions/${item.id}/reviews`, {
          method: 'POST',
          body: { verdict, action: detail.current_action },
        });
      }
      return api<{ status: string }>(`/v1/decisions/${item.id}/reviews`, {
        method: 'POST',
        body: { verdict, reason },
      });
    },
    onSuccess: (result, { item, verdict }) => {
      const what = describeAction(item.action, { person, subject: item.subject_name ?? undefined });
      const outcome =
        verdict === 'reject'
          ? 'Rejected'
          : result.status === 'pending_review'
            ? 'Approved (waiting for another approver)'
            : 'Approved; it executes now';
      setFlash({ kind: 'ok', text: `${outcome}: ${what}` });
      setDone((d) => new Set(d).add(item.id));
      void refresh();
    },
    onError: (error) => {
      setFlash({ kind: 'error', text: describeError(error) });
      void refresh();
    },
  });

  const bulkReview = useMutation({
    mutationFn: (input: { verdict: 'approve' | 'reject'; reason: string; ids: string[] }) =>
      api<{
        done: number;
        refused: number;
        results: { decision_id: string; outcome: string; reason?: string }[];
      }>('/v1/decisions/bulk-reviews', {
        method: 'POST',
        body: { filter: { ids: input.ids }, verdict: input.verdict, reason: input.reason },
      }),
    onSuccess: (result, input) => {
      const verb = input.verdict === 'approve' ? 'Approved' : 'Rejected';
      const refused = result.results.filter((r) => r.outcome === 'refused');
      setFlash({
        kind: refused.length ? 'error' : 'ok',
        text:
          `${verb} ${result.done} of ${input.ids.length}.` +
          (refused.length ? ` Refused: ${refused.map((r) => r.reason ?? 'refused').join('; ')}` : ''),
      });
      setDone((d) => {
        const next = new Set(d);
        for (const r of result.results) if (r.outcome === 'done') next.add(r.decision_id);
        return next;
      });
      setSelected(new Set());
      setBulk(null);
      void refresh();
    },
    onError: (error) => setFlash({ kind: 'error', text: describeError(error) }),
  });

  const approve = (item: DecisionItem | undefined) => {
    if (!item) return;
    if (!canReview || !mayReview(session.roles, item.required_role)) {
      setFlash({
        kind: 'error',
        text: `Your roles (${session.roles.join(', ')}) cannot approve this proposal.`,
      });
      return;
    }
    review.mutate({ item, verdict: 'approve' });
  };
  const startReject = (item: DecisionItem | undefined) => {
    if (!item) return;
    if (!canReview || !mayReview(session.roles, item.required_role)) {
      setFlash({
        kind: 'error',
        text: `Your roles (${session.roles.join(', ')}) cannot reject this proposal.`,
      });
      return;
    }
    setRejecting(item);
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  // The keyboard: only when no dialog is open and the focus is not in a form field.
  const dialogOpen = rejecting !== null || bulk !== null || helpOpen;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (dialogOpen || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      if (target?.isContentEditable) return;
      const move = (delta: number) => {
        if (sortedRows.length === 0) return;
        const next = Math.min(sortedRows.length - 1, Math.max(0, activeIndex + delta));
        keyboardMoved.current = true;
        setActiveId(sortedRows[next]!.id);
      };
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          move(1);
          break;
        case 'k':
        case 'ArrowUp':
          move(-1);
          break;
        case 'a':
          approve(active);
          break;
        case 'r':
          startReject(active);
          break;
        case 'e':
          if (active) navigate(`/decisions/${active.id}?edit=1`);
          break;
        case 'x':
          if (active && canReview) toggle(active.id);
          break;
        case 'o':
        case 'Enter':
          if (active && target?.tagName !== 'BUTTON' && target?.tagName !== 'A')
            navigate(`/decisions/${active.id}`);
          else return;
          break;
        case '?':
          setHelpOpen(true);
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  const selectedItems = rows.filter((r) => selected.has(r.id));
  const allBulkApprovable = selectedItems.length > 0 && selectedItems.every(bulkApprovable);

  return (
    <section className="page inbox" aria-labelledby="inbox-title">
      <div className="page-head">
        <h1 id="inbox-title">Inbox</h1>
        <p className="muted">
          {canReview
            ? 'Proposals waiting for you and your team. Keys: j/k move, a approve, r reject, e edit, x select, ? help.'
            : 'You can read the proposals waiting for review; approving needs the reviewer role.'}
        </p>
        <button type="button" className="secondary" onClick={() => setHelpOpen(true)}>
          Keyboard help
        </button>
      </div>

      <div className="toolbar" role="group" aria-label="Inbox scope">
        {(['team', 'mine', 'all'] as const).map((s) => (
          <button
            key={s}
            type="button"
            className={scope === s ? 'toggle on' : 'toggle'}
            aria-pressed={scope === s}
            onClick={() => setScope(s)}
          >
            {s === 'team' ? 'My team' : s === 'mine' ? 'Assigned to me' : 'Everything waiting'}
          </button>
        ))}
        <span className="live muted" aria-hidden="true">
          {inbox.isFetching
            ? 'Refreshing…'
            : inbox.dataUpdatedAt
              ? now - inbox.dataUpdatedAt < 5_000
                ? 'Up to date'
                : `Updated ${formatDuration(now - inbox.dataUpdatedAt)} ago`
              : ''}
        </span>
      </div>

      <FilterBar
        filters={filters}
        onChange={setFilters}
        agents={agents.data?.items.map((a) => a.name) ?? []}
      />

      <div className="sr-only" aria-live="polite" role="status">
        {announcement}
      </div>
      {announcement ? (
        <p className="banner banner-info" aria-hidden="true">
          {announcement}{' '}
          <button type="button" className="link" onClick={() => setAnnouncement('')}>
            Dismiss
          </button>
        </p>
      ) : null}
      <FlashBanner flash={flash} onDismiss={() => setFlash(null)} />

      {canReview && selectedItems.length > 0 ? (
        <div className="bulkbar" role="region" aria-label="Bulk actions">
          <span>{selectedItems.length} selected</span>
          <button type="button" disabled={!allBulkApprovable} onClick={() => setBulk('approve')}>
            Approve selected
          </button>
          <button type="button" className="danger" onClick={() => setBulk('reject')}>
            Reject selected
          </button>
          {!allBulkApprovable ? (
            <span className="muted">
              Bulk approval only where the policy allows it (bulk, one approver); reject works for all.
            </span>
          ) : null}
          <button type="button" className="link" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      ) : null}

      {inbox.isPending ? (
        <Loading what="the inbox" />
      ) : inbox.isError && !inbox.data ? (
        <ErrorNotice error={inbox.error} retry={() => void inbox.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="Nothing waiting for review.">
          {scope !== 'all' ? (
            <p>
              Items for other teams or roles are under{' '}
              <button type="button" className="link" onClick={() => setScope('all')}>
                Everything waiting
              </button>
              . New proposals appear here by themselves.
            </p>
          ) : (
            <p>
              New proposals appear here by themselves when agents propose something a policy sends to review.
            </p>
          )}
        </Empty>
      ) : (
        <div className="table-wrap">
          {inbox.isError ? <ErrorNotice error={inbox.error} /> : null}
          <table
            className="grid inbox-table"
            aria-label="Proposals waiting for review"
            aria-rowcount={sortedRows.length}
          >
            <thead>
              {table.getHeaderGroups().map((group) => (
                <tr key={group.id}>
                  {group.headers.map((header) => {
                    const sorted = header.column.getIsSorted();
                    const canSort = header.column.getCanSort();
                    const label =
                      typeof header.column.columnDef.header === 'string'
                        ? header.column.columnDef.header
                        : null;
                    return (
                      <th
                        key={header.id}
                        scope="col"
                        className={`col-${header.column.id}`}
                        aria-sort={
                          sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined
                        }
                      >
                        {canSort && label ? (
                          <button
                            type="button"
                            className="sort"
                            onClick={header.column.getToggleSortingHandler()}
                            title={`Sort by ${label.toLowerCase()}`}
                          >
                            {label}
                            <span aria-hidden="true">
                              {sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ' ↕'}
                            </span>
                          </button>
                        ) : (
                          <table.FlexRender header={header} />
                        )}
                      </th>
                    );
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {sortedRows.map((item, index) => {
                const isActive = index === activeIndex;
                const taken = claimedByOther(item, me, now);
                const level = slaLevel(item.deadline_at, now);
                const summary = describeAction(item.action, {
                  person,
                  subject: item.subject_name ?? undefined,
                });
                return (
                  <tr
                    key={item.id}
                    ref={(el) => {
                      if (el) rowRefs.current.set(item.id, el);
                      else rowRefs.current.delete(item.id);
                    }}
                    tabIndex={isActive ? 0 : -1}
                    aria-current={isActive ? 'true' : undefined}
                    aria-label={`${ACTION_LABELS[item.action_type] ?? item.action_type}: ${summary}`}
                    className={[
                      isActive ? 'active' : '',
                      taken ? 'taken' : '',
                      selected.has(item.id) ? 'selected' : '',
                    ]
                      .filter(Boolean)
                      .join(' ')}
                    data-decision-id={item.id}
                    onClick={() => setActiveId(item.id)}
                    onDoubleClick={() => navigate(`/decisions/${item.id}`)}
                  >
                    <td className="col-select">
                      {canReview ? (
                        <input
                          type="checkbox"
                          checked={selected.has(item.id)}
                          onChange={() => toggle(item.id)}
                          aria-label={`Select: ${summary}`}
                        />
                      ) : null}
                    </td>
                    <td className="col-action">
                      <Link href={`/decisions/${item.id}`} className="proposal-link">
                        {ACTION_LABELS[item.action_type] ?? item.action_type}
                      </Link>
                      <div className="proposal-text">{summary}</div>
                      {item.explanation?.summary ? (
                        <div className="muted small">{item.explanation.summary}</div>
                      ) : null}
                      <div className="badges">
                        {taken ? (
                          <span className="badge badge-warn">Claimed by {person(item.claimed_by)}</span>
                        ) : null}
                        {item.assigned_to ? (
                          <span className="badge">
                            {item.assigned_to === me
                              ? 'Assigned to you'
                              : `Assigned to ${person(item.assigned_to)}`}
                          </span>
                        ) : (
                          <span className="badge">Unassigned</span>
                        )}
                        {bulkApprovable(item) ? <span className="badge badge-ok">Bulk allowed</span> : null}
                        {item.escalation_level > 0 ? (
                          <span className="badge badge-warn">Escalated ×{item.escalation_level}</span>
                        ) : null}
                      </div>
                    </td>
                    <td className="col-agent">{humanize(item.agent)}</td>
                    <td className="col-confidence num">{formatPercent(item.confidence)}</td>
                    <td className="col-value num">{formatMoney(item.expected_value)}</td>
                    <td className="col-risk num">{formatMoney(item.risk)}</td>
                    <td className={`col-due sla-${level}`}>
                      {item.deadline_at ? (
                        <time dateTime={item.deadline_at} title={new Date(item.deadline_at).toLocaleString()}>
                          {level === 'overdue' ? 'Overdue' : formatRelative(item.deadline_at, now)}
                        </time>
                      ) : (
                        'No deadline'
                      )}
                      {item.on_deadline ? <div className="muted small">then {item.on_deadline}</div> : null}
                    </td>
                    <td className="col-approvals num">
                      {item.approvals_given ?? 0}/{item.approvals_required}
                    </td>
                    <td className="col-actions">
                      {canReview && mayReview(session.roles, item.required_role) ? (
                        <span className="row-actions">
                          <button
                            type="button"
                            className="small"
                            disabled={review.isPending || taken}
                            onClick={() => approve(item)}
                            aria-label={`Approve: ${summary}`}
                          >
                            Approve
                          </button>
                          <button
                            type="button"
                            className="small danger"
                            disabled={review.isPending || taken}
                            onClick={() => startReject(item)}
                            aria-label={`Reject: ${summary}`}
                          >
                            Reject
                          </button>
                        </span>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {inbox.data?.next_cursor ? (
            <p className="muted">Showing the first 500 by due time; narrow the filters to see the rest.</p>
          ) : null}
        </div>
      )}

      <ReasonDialog
        open={rejecting !== null}
        title="Reject this proposal"
        subject={
          rejecting
            ? describeAction(rejecting.action, { person, subject: rejecting.subject_name ?? undefined })
            : ''
        }
        confirm="Reject"
        minLength={1}
        busy={review.isPending}
        onClose={() => setRejecting(null)}
        onSubmit={(reason) => {
          if (!rejecting) return;
          review.mutate({ item: rejecting, verdict: 'reject', reason });
          setRejecting(null);
        }}
      />
      <ReasonDialog
        open={bulk !== null}
        title={
          bulk === 'approve'
            ? `Approve ${selectedItems.length} proposals`
            : `Reject ${selectedItems.length} proposals`
        }
        subject="The reason is kept with every review and in the audit trail."
        confirm={bulk === 'approve' ? 'Approve all' : 'Reject all'}
        minLength={3}
        busy={bulkReview.isPending}
        onClose={() => setBulk(null)}
        onSubmit={(reason) =>
          bulk && bulkReview.mutate({ verdict: bulk, reason, ids: selectedItems.map((s) => s.id) })
        }
      />
      <Dialog open={helpOpen} title="Keyboard shortcuts" onClose={() => setHelpOpen(false)}>
        <dl className="keys">
          {[
            ['j / ↓', 'next proposal'],
            ['k / ↑', 'previous proposal'],
            ['Enter / o', 'open the proposal'],
            ['a', 'approve'],
            ['r', 'reject (asks for a reason)'],
            ['e', 'edit, then approve the edited version'],
            ['x', 'select for a bulk action'],
            ['?', 'this help'],
          ].map(([key, what]) => (
            <div key={key}>
              <dt>
                <kbd>{key}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <button type="button" onClick={() => setHelpOpen(false)}>
          Close
        </button>
      </Dialog>
    </section>
  );
}

function FilterBar({
  filters,
  onChange,
  agents,
}: {
  filters: Filters;
  onChange: (f: Filters) => void;
  agents: string[];
}) {
  const set = (key: keyof Filters) => (e: { target: { value: string } }) =>
    onChange({ ...filters, [key]: e.target.value });
  const active = Object.values(filters).some(Boolean);
  return (
    <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Agent
        <select value={filters.agent} onChange={set('agent')}>
          <option value="">Any</option>
          {agents.map((a) => (
            <option key={a} value={a}>
              {humanize(a)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Action
        <select value={filters.action_type} onChange={set('action_type')}>
          <option value="">Any</option>
          {Object.entries(ACTION_LABELS).map(([type, label]) => (
            <option key={type} value={type}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Risk at most
        <input
          type="number"
          min={0}
          step={100}
          inputMode="numeric"
          value={filters.risk_max}
          onChange={set('risk_max')}
        />
      </label>
      <label>
        Confidence at least (%)
        <input
          type="number"
          min={0}
          max={100}
          step={5}
          inputMode="numeric"
          value={filters.confidence_min}
          onChange={set('confidence_min')}
        />
      </label>
      <label>
        Value at least
        <input
          type="number"
          min={0}
          step={1000}
          inputMode="numeric"
          value={filters.expected_value_min}
          onChange={set('expected_value_min')}
        />
      </label>
      <label>
        Due within (hours)
        <input
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          value={filters.due_within_hours}
          onChange={set('due_within_hours')}
        />
      </label>
      {active ? (
        <button type="button" className="link" onClick={() => onChange(NO_FILTERS)}>
          Clear filters
        </button>
      ) : null}
    </form>
  );
}
