import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.command.ts';
import { featuresCommand, modelRegistryCommands } from './commands/model.command.ts';
import { breakerCommand, policyCommand } from './commands/policy.command.ts';
import { ingestCommand } from './commands/ingest.command.ts';
import { importCommand } from './commands/import.command.ts';
import { migrateCommand } from './commands/migrate.command.ts';
import { outboxCommand } from './commands/outbox.command.ts';
import { modelCommand } from './commands/model-eval.command.ts';
import { quarantineCommand } from './commands/quarantine.command.ts';
import { simulateCommand } from './commands/simulate.command.ts';
import { startCommand } from './commands/start.command.ts';
import { tokenCommand } from './commands/token.command.ts';
import { userCommand } from './commands/user.command.ts';
import { workerCommand } from './commands/worker.command.ts';
import { identityCommand, sourceCommand } from './commands/source.command.ts';
import { agentsCommand } from './commands/agents.command.ts';
import { forecastCommand } from './commands/forecast.command.ts';
import { experimentCommand, feedbackCommand, reportCommand } from './commands/feedback.command.ts';
import { monitorCommand } from './commands/monitoring.command.ts';
import { reportError } from './output.ts';

const program = new Command('funnelgate')
  .description(
    'AI agents over a B2B sales funnel, with humans in charge.\n\n' +
      'Settings come from the environment (DATABASE_URL, PORT, HOST, FUNNELGATE_DATA_DIR, LOG_LEVEL, ...) or a\n' +
      'file named by FUNNELGATE_CONFIG; see the README. Without DATABASE_URL an embedded PostgreSQL is used.\n\n' +
      'Exit codes: 0 ok, 1 internal error, 2 bad input, 3 bad configuration, 4 not allowed, 5 not found,\n' +
      '6 conflict, 7 unavailable.',
  )
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(startCommand());
program.addCommand(workerCommand());
program.addCommand(migrateCommand());
program.addCommand(tokenCommand());
program.addCommand(userCommand());
program.addCommand(importCommand());
program.addCommand(quarantineCommand());
program.addCommand(ingestCommand());
program.addCommand(sourceCommand());
program.addCommand(identityCommand());
program.addCommand(auditCommand());
program.addCommand(featuresCommand());
program.addCommand(policyCommand());
program.addCommand(breakerCommand());
program.addCommand(simulateCommand());
program.addCommand(modelCommand(modelRegistryCommands()));
program.addCommand(outboxCommand());
program.addCommand(agentsCommand());
program.addCommand(forecastCommand());
program.addCommand(reportCommand());
program.addCommand(experimentCommand());
program.addCommand(feedbackCommand());
program.addCommand(monitorCommand());

// addCommand() does not pass exitOverride down; without it a subcommand's usage mistake exits 1, not 2.
const throwOnUsageError = (command: Command): void => {
  command.exitOverride();
  command.commands.forEach(throwOnUsageError);
};
throwOnUsageError(program);

const wantsJson = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; usage mistakes exit 2 like any other bad input.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(error, wantsJson);
  }
}
