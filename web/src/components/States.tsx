// Loading, empty and error states, the same everywhere.
import type { ReactNode } from 'react';
import { describeError } from '../api.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorNotice({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p>{describeError(error)}</p>
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

/** The outcome of something the person just did: a success is announced politely, a failure as an alert. */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export function FlashBanner({ flash, onDismiss }: { flash: Flash | null; onDismiss?: () => void }) {
  if (!flash) return null;
  return (
    <p
      className={`banner ${flash.kind === 'ok' ? 'banner-ok' : 'banner-error'}`}
      role={flash.kind === 'ok' ? 'status' : 'alert'}
    >
      {flash.text}
      {onDismiss ? (
        <>
          {' '}
          <button type="button" className="link" onClick={onDismiss}>
            Dismiss
          </button>
        </>
      ) : null}
    </p>
  );
}
