// Values in PostgreSQL's COPY text format (tab-separated, one row per line). Pure.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2

/** A field: backslash, tab, newline and carriage return escaped; null is \N. */
export function copyField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : value;
}

/** A text[] field: each element double-quoted (backslash and quote escaped), then escaped as a field. */
export function copyTextArray(values: readonly string[]): string {
  let array = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    array += `${i === 0 ? '"' : ',"'}${/[\\"]/.test(value) ? value.replace(/[\\"]/g, (c) => `\\${c}`) : value}"`;
  }
  return copyField(`${array}}`);
}

export function copyRow(fields: readonly string[]): string {
  return `${fields.join('\t')}\n`;
}
