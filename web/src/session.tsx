// Who is signed in, with which roles, and the CSRF token for writes. The session itself lives in an httpOnly
// cookie the page cannot read; GET /v1/session tells the page about it after a reload.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { isAllowed, type Access } from '../../src/auth/roles.ts';
import { api, ApiError, setCsrfToken, setUnauthenticatedHandler } from './api.ts';
import type { SessionView } from './types.ts';

interface SessionContextValue {
  session: SessionView | null;
  /** True until the first GET /v1/session has answered. */
  loading: boolean;
  /** Set when the session ended underneath the page (expired, revoked, signed out elsewhere). */
  ended: boolean;
  signIn(token: string): Promise<void>;
  signOut(): Promise<void>;
  can(access: Access): boolean;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session, setSession] = useState<SessionView | null>(null);
  const [loading, setLoading] = useState(true);
  const [ended, setEnded] = useState(false);

  const adopt = useCallback((next: SessionView | null) => {
    setCsrfToken(next?.csrf_token ?? null);
    setSession(next);
  }, []);

  useEffect(() => {
    let cancelled = false;
    api<SessionView>('/v1/session')
      .then((s) => !cancelled && adopt(s))
      .catch(() => !cancelled && adopt(null))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [adopt]);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      adopt(null);
      setEnded(true);
      queryClient.clear();
    });
    return () => setUnauthenticatedHandler(null);
  }, [adopt, queryClient]);

  const signIn = useCallback(
    async (token: string) => {
      const next = await api<SessionView>('/v1/session', { method: 'POST', body: { token } });
      queryClient.clear();
      setEnded(false);
      adopt(next);
    },
    [adopt, queryClient],
  );

  const signOut = useCallback(async () => {
    try {
      await api('/v1/session', { method: 'DELETE' });
    } catch (error) {
      // Already gone on the server: signed out either way.
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
    queryClient.clear();
    adopt(null);
  }, [adopt, queryClient]);

  const value = useMemo<SessionContextValue>(
    () => ({
      session,
      loading,
      ended,
      signIn,
      signOut,
      can: (access) => (session ? isAllowed(access, session.roles) : false),
    }),
    [session, loading, ended, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in session; only for components rendered behind the sign-in page. */
export function useSignedIn(): SessionView & { can(access: Access): boolean } {
  const { session, can } = useSession();
  if (!session) throw new Error('useSignedIn without a session');
  return { ...session, can };
}

/** The decision's required role, or admin (the server's rule in src/review/review-repository.ts). */
export function mayReview(roles: readonly string[], requiredRole: string | null): boolean {
  return roles.includes(requiredRole ?? 'reviewer') || roles.includes('admin');
}
