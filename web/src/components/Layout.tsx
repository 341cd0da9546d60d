// The frame around every page: skip link, navigation (only what the roles can use), who is signed in, sign out.
import { useState, type ReactNode } from 'react';
import type { Access } from '../../../src/auth/roles.ts';
import { describeError } from '../api.ts';
import { Link, useLocation } from '../router.tsx';
import { useSignedIn, useSession } from '../session.tsx';

const NAV: { href: string; label: string; access?: Access }[] = [
  { href: '/inbox', label: 'Inbox' },
  { href: '/funnel', label: 'Funnel' },
  { href: '/kpis', label: 'KPIs', access: 'read' },
  { href: '/experiments', label: 'Experiments', access: 'read' },
  { href: '/monitoring', label: 'Monitoring', access: 'read' },
  { href: '/forecast', label: 'Forecast', access: 'read' },
  { href: '/bottlenecks', label: 'Bottlenecks', access: 'read' },
  { href: '/models', label: 'Models' },
  { href: '/policies', label: 'Policies' },
  { href: '/audit', label: 'Audit' },
];

export function Layout({ children }: { children: ReactNode }) {
  const session = useSignedIn();
  const { signOut } = useSession();
  const { path } = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/inbox" className="brand">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <path d="M3 5h26l-10 11v9l-6 3V16z" fill="currentColor" />
          </svg>
          Funnelgate
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : ''}>
          <ul>
            {NAV.filter((item) => !item.access || session.can(item.access)).map((item) => (
              <li key={item.href}>
                <Link
                  href={item.href}
                  aria-current={path.startsWith(item.href) ? 'page' : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {item.label}
                </Link>
              </li>
            ))}
            <li>
              <a href="/docs" target="_blank" rel="noreferrer">
                API docs
              </a>
            </li>
          </ul>
        </nav>
        <div className="whoami">
          <span>
            <span className="who-name">{session.user.name}</span>{' '}
            <span className="roles" aria-label="Your roles">
              {session.roles.join(', ')}
            </span>
          </span>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setError(null);
              signOut().catch((e: unknown) => setError(describeError(e)));
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      {error ? (
        <p role="alert" className="banner banner-error">
          {error}
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
