import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { AppError } from '../../errors.ts';
import {
  dryRunCsv,
  importCsv,
  readMappingFile,
  type DryRunSummary,
  type ImportProgress,
  type ImportSummary,
} from '../../ingest/csv/import-csv.ts';
import { withDatabase } from '../context.ts';
import { printResult } from '../output.ts';

/** The ready mappings shipped with Funnelgate (`--mapping hubspot-contacts` finds mappings/hubspot-contacts.yaml). */
const SHIPPED_MAPPINGS = fileURLToPath(new URL('../../../mappings/', import.meta.url));

export function importCommand(): Command {
  const command = new Command('import').description('Import data from files');

  command
    .command('csv')
    .description(
      'Import a CSV file through a mapping (see "CSV mapping format" in the README). Rows that do not map are ' +
        'quarantined with the reason; importing the same file again only finds duplicates.',
    )
    .argument('<file>', 'the CSV file')
    .requiredOption(
      '-m, --mapping <file>',
      'the mapping file (YAML), or the name of a shipped one: hubspot-contacts, hubspot-companies, hubspot-deals, salesforce-leads, salesforce-opportunities',
    )
    .option(
      '--dry-run',
      'read and map every row without writing anything; report counts and the first errors',
    )
    .option('--description <text>', 'a note kept with the ingest batch')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        file: string,
        options: { mapping: string; dryRun?: boolean; description?: string; json?: boolean },
      ) => {
        if (!existsSync(file) || !statSync(file).isFile())
          throw new AppError('not_found', `No CSV file at ${file}`);
        const mapping = await readMappingFile(resolveMapping(options.mapping));
        const progress = progressBar(statSync(file).size);
        try {
          if (options.dryRun) {
            const summary = await dryRunCsv({ file, mapping, onProgress: progress?.update });
            progress?.stop();
            printResult(Boolean(options.json), summary, () => describeDryRun(file, summary));
            return;
          }
          await withDatabase(async ({ database }) => {
            const summary = await importCsv({
              db: database.db,
              file,
              mapping,
              ...(options.description ? { description: options.description } : {}),
              onProgress: progress?.update,
            });
            progress?.stop();
            printResult(Boolean(options.json), summary, () => describeImport(file, summary));
          });
        } finally {
          progress?.stop();
        }
      },
    );
  return command;
}

function resolveMapping(name: string): string {
  if (existsSync(name)) return name;
  const shipped = path.join(SHIPPED_MAPPINGS, `${name.replace(/\.ya?ml$/, '')}.yaml`);
  if (!name.includes('/') && existsSync(shipped)) return shipped;
  throw new AppError(
    'not_found',
    `No mapping file at ${name} (nor a shipped mapping of that name in ${SHIPPED_MAPPINGS})`,
  );
}

/** A bar on stderr when a person is watching; scripts and pipes get none. */
function progressBar(
  totalBytes: number,
): { update: (p: ImportProgress) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        '{bar} {percentage}% | {rows} rows | {rate} rows/s | {accepted} accepted, {duplicate} duplicate, {quarantined} quarantined',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(totalBytes, 1), 0, { rows: 0, rate: 0, accepted: 0, duplicate: 0, quarantined: 0 });
  let stopped = false;
  return {
    update: (p) => {
      if (stopped) return;
      bar.update(Math.min(p.bytes, totalBytes), {
        rows: p.rows,
        rate: p.seconds > 0 ? Math.round(p.rows / p.seconds) : 0,
        accepted: p.accepted,
        duplicate: p.duplicate,
        quarantined: p.quarantined,
      });
    },
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

function describeImport(file: string, s: ImportSummary): string {
  const lines = [
    `Imported ${file} with mapping ${s.mapping_version} (batch ${s.batch_id}):`,
    `  rows         ${s.rows}${s.rows_failed ? ` (${s.rows_failed} did not map)` : ''}`,
    `  events       ${s.events}`,
    `  imported     ${s.accepted}`,
    `  duplicate    ${s.duplicate}`,
    `  quarantined  ${s.quarantined}`,
    `  time         ${s.seconds} s (${s.rows_per_second} rows/s)`,
  ];
  if (s.missing_optional_columns.length > 0)
    lines.push(`Columns not in the file (left empty): ${s.missing_optional_columns.join(', ')}`);
  if (s.quarantined > 0) lines.push(`See why: funnelgate quarantine list --batch ${s.batch_id}`);
  return lines.join('\n');
}

function describeDryRun(file: string, s: DryRunSummary): string {
  const lines = [
    `Dry run of ${file} with mapping ${s.mapping_version} (nothing written):`,
    `  delimiter    ${JSON.stringify(s.delimiter)}, ${s.columns.length} columns`,
    `  rows         ${s.rows}`,
    `  would map    ${s.rows_mapped} rows into ${s.events} events`,
    `  would fail   ${s.rows_failed} rows`,
    `  time         ${s.seconds} s (${s.rows_per_second} rows/s)`,
  ];
  if (s.missing_optional_columns.length > 0)
    lines.push(`Columns not in the file (left empty): ${s.missing_optional_columns.join(', ')}`);
  if (s.first_errors.length > 0) lines.push('First errors:', ...s.first_errors.map((e) => `  ${e.reason}`));
  return lines.join('\n');
}
