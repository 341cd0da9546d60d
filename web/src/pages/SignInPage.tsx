// Sign in with an API token; the server answers with an httpOnly session cookie. The token is not kept.
import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../api.ts';
import { useDocumentTitle } from '../hooks.ts';
import { useSession } from '../session.tsx';

export function SignInPage() {
  useDocumentTitle('Sign in');
  const { signIn, ended } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const hintId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (!token.trim()) {
      setError('Paste your API token first.');
      return;
    }
    setBusy(true);
    try {
      await signIn(token.trim());
      setToken('');
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">
          <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <path d="M3 5h26l-10 11v9l-6 3V16z" fill="currentColor" />
          </svg>{' '}
          Sign in to Funnelgate
        </h1>
        {ended ? (
          <p className="banner banner-info" role="status">
            Your session ended. Sign in again to continue.
          </p>
        ) : null}
        <label htmlFor={inputId}>API token</label>
        <input
          id={inputId}
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={hintId}
          aria-invalid={error ? true : undefined}
          autoFocus
        />
        <p id={hintId} className="hint">
          Your token starts with <code>fg_</code>. An admin creates one with{' '}
          <code>funnelgate token create --user you@example.com --role reviewer</code>. The console keeps a
          session cookie, not the token.
        </p>
        {error ? (
          <p className="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
