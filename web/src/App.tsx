// Which page a path shows; everything but the sign-in page needs a session.
import { lazy, Suspense, useEffect } from 'react';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/States.tsx';
import { navigate, useLocation } from './router.tsx';
import { useSession } from './session.tsx';
import { InboxPage } from './pages/InboxPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';

// The inbox (where reviewers land) is in the first download; every other page, and the chart library most of
// them use, comes when first opened.
const AuditPage = lazy(() => import('./pages/AuditPage.tsx').then((m) => ({ default: m.AuditPage })));
const BottlenecksPage = lazy(() =>
  import('./pages/BottlenecksPage.tsx').then((m) => ({ default: m.BottlenecksPage })),
);
const DecisionPage = lazy(() =>
  import('./pages/DecisionPage.tsx').then((m) => ({ default: m.DecisionPage })),
);
const ExperimentsPage = lazy(() =>
  import('./pages/ExperimentsPage.tsx').then((m) => ({ default: m.ExperimentsPage })),
);
const ForecastPage = lazy(() =>
  import('./pages/ForecastPage.tsx').then((m) => ({ default: m.ForecastPage })),
);
const FunnelPage = lazy(() => import('./pages/FunnelPage.tsx').then((m) => ({ default: m.FunnelPage })));
const KpisPage = lazy(() => import('./pages/KpisPage.tsx').then((m) => ({ default: m.KpisPage })));
const ModelsPage = lazy(() => import('./pages/ModelsPage.tsx').then((m) => ({ default: m.ModelsPage })));
const MonitoringPage = lazy(() =>
  import('./pages/MonitoringPage.tsx').then((m) => ({ default: m.MonitoringPage })),
);
const PoliciesPage = lazy(() =>
  import('./pages/PoliciesPage.tsx').then((m) => ({ default: m.PoliciesPage })),
);

export function App() {
  const { session, loading } = useSession();
  const { path } = useLocation();

  useEffect(() => {
    if (session && (path === '/' || path === '/signin')) navigate('/inbox', { replace: true });
  }, [session, path]);

  if (loading) return <Loading what="the console" />;
  if (!session) return <SignInPage />;
  return (
    <Layout>
      <Suspense fallback={<Loading what="the page" />}>{page(path)}</Suspense>
    </Layout>
  );
}

function page(path: string) {
  const decision = /^\/decisions\/([0-9a-f-]{36})$/i.exec(path);
  if (decision) return <DecisionPage key={decision[1]} id={decision[1]!} />;
  switch (path) {
    case '/':
    case '/signin':
    case '/inbox':
      return <InboxPage />;
    case '/audit':
      return <AuditPage />;
    case '/models':
      return <ModelsPage />;
    case '/policies':
      return <PoliciesPage />;
    case '/funnel':
      return <FunnelPage />;
    case '/kpis':
      return <KpisPage />;
    case '/experiments':
      return <ExperimentsPage />;
    case '/monitoring':
      return <MonitoringPage />;
    case '/forecast':
      return <ForecastPage />;
    case '/bottlenecks':
      return <BottlenecksPage />;
    default:
      return <NotFoundPage />;
  }
}
