// A wide table's own sideways-scrolling box. It can take focus, so keyboard users can scroll it too (a scrollable
// region nothing inside can focus is out of reach otherwise), and it is named after the table it holds.
import type { ReactNode } from 'react';

export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
