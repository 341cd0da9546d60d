// Monitoring from the command line: run the checks now, list alarms.
import { Command } from 'commander';
import { listAlarms } from '../../monitoring/alarms.ts';
import { runMonitoring } from '../../monitoring/run-monitoring.ts';
import { withDatabase } from '../context.ts';
import { printResult, table } from '../output.ts';

export function monitorCommand(): Command {
  const command = new Command('monitor').description(
    'Drift, calibration, freshness and error-rate checks, and their alarms',
  );
  command
    .command('run')
    .description(
      'Run the checks now (the job runs them every 15 minutes); alarms at their threshold trip the breaker',
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async ({ database, config }) => {
        const report = await runMonitoring(database.db, config);
        printResult(Boolean(options.json), report, () => {
          const lines = [
            report.drift.skipped
              ? `drift: skipped (${report.drift.skipped})`
              : `drift: model version ${report.drift.model?.version}, ${report.drift.recent_rows} recent rows against ${report.drift.reference_rows} from its training window`,
          ];
          if (!report.drift.skipped)
            lines.push(
              table(
                report.drift.features.slice(0, 15).map((f) => ({
                  feature: f.feature,
                  psi: f.psi.toFixed(3),
                  test: f.test,
                  p_value: f.p_value.toPrecision(2),
                })),
                ['feature', 'psi', 'test', 'p_value'],
              ),
            );
          lines.push(
            `calibration: ${report.calibration.ece === null ? `not enough labelled decisions (${report.calibration.labelled})` : `ECE ${report.calibration.ece.toFixed(3)} on ${report.calibration.labelled}`}`,
            `freshness: ${report.freshness.backlog} waiting, oldest ${Math.round(report.freshness.oldest_waiting_seconds)} s`,
            `alarms: ${report.alarms.opened.length} opened, ${report.alarms.updated.length} updated, ${report.alarms.resolved.length} resolved${report.alarms.tripped ? '; the circuit breaker was tripped' : ''}`,
          );
          return lines.join('\n');
        });
      });
    });
  command
    .command('alarms')
    .option('--status <status>', 'open | resolved | all', 'open')
    .option('--json', 'print the result as JSON')
    .action(async (options: { status: 'open' | 'resolved' | 'all'; json?: boolean }) => {
      await withDatabase(async ({ database }) => {
        const items = await listAlarms(database.db, { status: options.status });
        printResult(Boolean(options.json), { items }, () =>
          table(
            items.map((a) => ({ ...a, acknowledged: a.acknowledged_at ? 'yes' : '' })),
            [
              'kind',
              'key',
              'severity',
              'status',
              'value',
              'alarm_threshold',
              'opened_at',
              'acknowledged',
              'message',
            ],
          ),
        );
      });
    });
  return command;
}
