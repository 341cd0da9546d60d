// A field-by-field diff of an action against the proposal.
import type { DiffLine } from '../types.ts';

export function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function DiffTable({ diff, caption }: { diff: DiffLine[]; caption: string }) {
  if (diff.length === 0) return <p className="muted">No changes against the proposal.</p>;
  return (
    <table className="grid diff">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Proposed</th>
          <th scope="col">Edited</th>
        </tr>
      </thead>
      <tbody>
        {diff.map((d) => (
          <tr key={d.field}>
            <th scope="row">{d.field.replace(/^params\./, '')}</th>
            <td>
              <del>{show(d.before)}</del>
            </td>
            <td>
              <ins>{show(d.after)}</ins>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
