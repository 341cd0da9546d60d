// Edit a proposed action before approving it. The fields come from the action catalogue the server validates
// with (src/agents/actions.ts), the same validation runs here first, and the reviewer sees the diff against the
// proposal before anything is sent. What is approved is frozen and exactly that executes.
import { useMemo, useState, type FormEvent } from 'react';
import { z } from 'zod';
import { ACTION_SCHEMAS, actionDiff, validateAction, type Action } from '../../../src/agents/actions.ts';
import { humanize } from '../format.ts';
import type { ActionView, UserView } from '../types.ts';
import { DiffTable, show } from './DiffTable.tsx';

/** Parameters that name the subject or history: the server refuses to change them. */
const FIXED = new Set([
  'contact_id',
  'account_id',
  'opportunity_id',
  'previous_owner_id',
  'segment',
  'stage',
]);

type FieldKind =
  | { kind: 'enum'; options: string[]; nullable: boolean }
  | { kind: 'user'; nullable: boolean }
  | { kind: 'datetime'; nullable: boolean }
  | { kind: 'text'; nullable: boolean; long: boolean }
  | { kind: 'fixed' };

function fieldKind(name: string, schema: z.ZodType): FieldKind {
  if (FIXED.has(name)) return { kind: 'fixed' };
  let inner: z.ZodType = schema;
  let nullable = false;
  while (inner instanceof z.ZodNullable || inner instanceof z.ZodOptional) {
    nullable = true;
    inner = inner.unwrap() as z.ZodType;
  }
  if (inner instanceof z.ZodEnum) return { kind: 'enum', options: inner.options.map(String), nullable };
  if (name.endsWith('_id')) return { kind: 'user', nullable };
  if (name === 'at') return { kind: 'datetime', nullable };
  if (inner instanceof z.ZodString)
    return { kind: 'text', nullable, long: name === 'reason' || name === 'note' };
  return { kind: 'fixed' };
}

/** datetime-local works in the browser's zone; the action stores an instant (ISO 8601, UTC). */
function toLocalInput(iso: unknown): string {
  if (typeof iso !== 'string') return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function EditForm({
  proposed,
  current,
  users,
  busy,
  onCancel,
  onSubmit,
}: {
  proposed: ActionView;
  current: ActionView;
  users: UserView[];
  busy: boolean;
  onCancel: () => void;
  onSubmit: (action: Action, reason: string) => void;
}) {
  const schema = ACTION_SCHEMAS[current.type as keyof typeof ACTION_SCHEMAS] as
    z.ZodObject<Record<string, z.ZodType>> | undefined;
  const [params, setParams] = useState<Record<string, unknown>>({ ...current.params });
  const [reason, setReason] = useState('');
  const [step, setStep] = useState<'edit' | 'confirm'>('edit');
  const [errors, setErrors] = useState<Record<string, string>>({});

  const people = useMemo(
    () => users.filter((u) => u.active && u.kind === 'human').sort((a, b) => a.name.localeCompare(b.name)),
    [users],
  );
  const candidate = { type: current.type, params };
  const diff = actionDiff(proposed as Action, candidate as Action);

  if (!schema) return <p className="muted">This kind of action ({current.type}) cannot be edited here.</p>;
  const fields = Object.entries(schema.shape).map(([name, s]) => ({ name, kind: fieldKind(name, s) }));

  const review = (event: FormEvent) => {
    event.preventDefault();
    const result = validateAction(candidate);
    const next: Record<string, string> = {};
    if (!result.ok) for (const e of result.errors) next[e.field.replace(/^action\.params\./, '')] = e.message;
    if (diff.length === 0)
      next['_form'] = 'Nothing changed yet: change a field, or approve the proposal as it is.';
    if (!reason.trim())
      next['_reason'] = 'Say why you changed it (kept with the review and in the audit trail).';
    setErrors(next);
    if (Object.keys(next).length === 0) setStep('confirm');
  };

  if (step === 'confirm') {
    return (
      <div className="edit-confirm">
        <DiffTable diff={diff} caption="Your edit against the proposal" />
        <p>
          <strong>Reason:</strong> {reason}
        </p>
        <p className="muted">Approving freezes exactly this version; it is what executes.</p>
        <div className="dialog-actions">
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              const result = validateAction(candidate);
              if (result.ok) onSubmit(result.action, reason.trim());
            }}
          >
            {busy ? 'Approving…' : 'Approve edited version'}
          </button>
          <button type="button" className="secondary" onClick={() => setStep('edit')}>
            Back to editing
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  const set = (name: string, value: unknown) => setParams((p) => ({ ...p, [name]: value }));
  return (
    <form className="edit-form" onSubmit={review} noValidate aria-label="Edit the proposed action">
      {fields.map(({ name, kind }) => {
        const id = `edit-param-${name}`;
        const error = errors[name];
        const described = error ? `${id}-error` : undefined;
        const label = humanize(name);
        let control;
        switch (kind.kind) {
          case 'fixed':
            control = (
              <output id={id} className="fixed-value">
                {show(params[name])}
              </output>
            );
            break;
          case 'enum':
            control = (
              <select
                id={id}
                value={params[name] === null || params[name] === undefined ? '' : String(params[name])}
                onChange={(e) => set(name, e.target.value === '' ? null : e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={described}
              >
                {kind.nullable ? <option value="">(none)</option> : null}
                {kind.options.map((o) => (
                  <option key={o} value={o}>
                    {humanize(o)}
                  </option>
                ))}
              </select>
            );
            break;
          case 'user':
            control = (
              <select
                id={id}
                value={typeof params[name] === 'string' ? (params[name] as string) : ''}
                onChange={(e) => set(name, e.target.value === '' ? null : e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={described}
              >
                {kind.nullable ? <option value="">(nobody)</option> : <option value="">Choose…</option>}
                {people.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({u.email})
                  </option>
                ))}
              </select>
            );
            break;
          case 'datetime':
            control = (
              <input
                id={id}
                type="datetime-local"
                value={toLocalInput(params[name])}
                onChange={(e) => set(name, fromLocalInput(e.target.value))}
                aria-invalid={error ? true : undefined}
                aria-describedby={described}
              />
            );
            break;
          case 'text':
            control = kind.long ? (
              <textarea
                id={id}
                rows={2}
                value={typeof params[name] === 'string' ? (params[name] as string) : ''}
                onChange={(e) => set(name, e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={described}
              />
            ) : (
              <input
                id={id}
                type="text"
                value={typeof params[name] === 'string' ? (params[name] as string) : ''}
                onChange={(e) => set(name, e.target.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={described}
              />
            );
            break;
        }
        return (
          <div className="field" key={name}>
            <label htmlFor={id}>
              {label}
              {kind.kind === 'fixed' ? <span className="muted"> (cannot change)</span> : null}
            </label>
            {control}
            {error ? (
              <p id={described} className="field-error">
                {error}
              </p>
            ) : null}
          </div>
        );
      })}
      <div className="field">
        <label htmlFor="edit-why">Why you changed it</label>
        <textarea
          id="edit-why"
          rows={2}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={errors['_reason'] ? true : undefined}
          aria-describedby={errors['_reason'] ? 'edit-why-error' : undefined}
        />
        {errors['_reason'] ? (
          <p id="edit-why-error" className="field-error">
            {errors['_reason']}
          </p>
        ) : null}
      </div>
      {diff.length > 0 ? <DiffTable diff={diff} caption="Changes so far" /> : null}
      {errors['_form'] ? (
        <p className="field-error" role="alert">
          {errors['_form']}
        </p>
      ) : Object.keys(errors).length > 0 ? (
        <p className="field-error" role="alert">
          Please fix the fields marked above.
        </p>
      ) : null}
      <div className="dialog-actions">
        <button type="submit">Review changes</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
