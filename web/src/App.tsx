// Which page a path shows; everything but the sign-in page needs a session.
import { useEffect } from 'react';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/States.tsx';
import { navigate, useLocation } from './router.tsx';
import { useSession } from './session.tsx';
import { AuditPage } from './pages/AuditPage.tsx';
import { BottlenecksPage } from './pages/BottlenecksPage.tsx';
import { DecisionPage } from './pages/DecisionPage.tsx';
import { ExperimentsPage } from './pages/ExperimentsPage.tsx';
import { ForecastPage } from './pages/ForecastPage.tsx';
import { FunnelPage } from './pages/FunnelPage.tsx';
import { InboxPage } from './pages/InboxPage.tsx';
import { KpisPage } from './pages/KpisPage.tsx';
import { ModelsPage } from './pages/ModelsPage.tsx';
import { MonitoringPage } from './pages/MonitoringPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { PoliciesPage } from './pages/PoliciesPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';

export function App() {
  const { session, loading } = useSession();
  const { path } = useLocation();

  useEffect(() => {
    if (session && (path === '/' || path === '/signin')) navigate('/inbox', { replace: true });
  }, [session, path]);

  if (loading) return <Loading what="the console" />;
  if (!session) return <SignInPage />;
  return <Layout>{page(path)}</Layout>;
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
