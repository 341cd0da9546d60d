// Shared queries: the people (to show names instead of ids) and a clock for countdowns.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from './api.ts';
import type { Page, UserView } from './types.ts';

/** The people, by id. `mentioned`: ids the page shows; one the list does not know yet (a new colleague) reloads it. */
export function useUsers(mentioned: readonly (string | null)[] = []) {
  const query = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) => api<Page<UserView>>('/v1/users?limit=500', { signal }),
    staleTime: 5 * 60_000,
  });
  const byId = useMemo(() => new Map((query.data?.items ?? []).map((u) => [u.id, u])), [query.data]);
  const lastReload = useRef(0);
  const unknown = query.data ? mentioned.some((id) => id !== null && !byId.has(id)) : false;
  const { refetch } = query;
  useEffect(() => {
    if (!unknown || Date.now() - lastReload.current < 15_000) return;
    lastReload.current = Date.now();
    void refetch();
  }, [unknown, refetch]);
  const person = (id: unknown): string => {
    if (typeof id !== 'string' || !id) return 'nobody';
    const user = byId.get(id);
    return user ? user.name : `user ${id.slice(0, 8)}`;
  };
  return { users: query.data?.items ?? [], byId, person };
}

/** The current time, updated every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Funnelgate`;
  }, [title]);
}
