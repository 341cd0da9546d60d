// How commands talk: human text on stdout, or one JSON document with --json; errors on stderr with an exit
// code from errors.ts.
import { AppError, exitCodeFor, isAppError } from '../errors.ts';

export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

export function reportError(error: unknown, json: boolean): number {
  const appError = isAppError(error)
    ? error
    : new AppError('internal', error instanceof Error ? error.message : String(error));
  if (json) {
    process.stderr.write(
      `${JSON.stringify({ error: { code: appError.code, message: appError.message, details: appError.details } })}\n`,
    );
  } else {
    process.stderr.write(`error: ${appError.message}\n`);
    if (appError.code === 'internal' && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
  }
  return exitCodeFor(appError.code);
}
