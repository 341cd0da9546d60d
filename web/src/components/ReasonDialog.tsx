// Asks for the reason a verdict needs (reject, bulk actions); the audit trail keeps it.
import { useEffect, useState } from 'react';
import { Dialog } from './Dialog.tsx';

export function ReasonDialog({
  open,
  title,
  subject,
  confirm,
  minLength,
  busy,
  onClose,
  onSubmit,
}: {
  open: boolean;
  title: string;
  subject: string;
  confirm: string;
  minLength: number;
  busy: boolean;
  onClose: () => void;
  onSubmit: (reason: string) => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (open) {
      setReason('');
      setError(null);
    }
  }, [open]);
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (reason.trim().length < minLength) {
            setError(
              minLength > 1
                ? `Say why, in at least ${minLength} characters.`
                : 'Say why: a reason is required.',
            );
            return;
          }
          onSubmit(reason.trim());
        }}
      >
        <p>{subject}</p>
        <label htmlFor="reason-input">Reason</label>
        <textarea
          id="reason-input"
          rows={3}
          value={reason}
          autoFocus
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'reason-error' : undefined}
        />
        {error ? (
          <p id="reason-error" className="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="submit" disabled={busy}>
            {confirm}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
