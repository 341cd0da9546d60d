import { Command } from 'commander';
import { startFunnelgate } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../logger.ts';
import { waitForShutdown } from './start.command.ts';

export function workerCommand(): Command {
  return new Command('worker')
    .description(
      'Run only the job worker (scale out: run several, on one or many machines, against one database)',
    )
    .option(
      '-c, --concurrency <n>',
      'jobs run at once in this process (default: FUNNELGATE_WORKER_CONCURRENCY or 4)',
    )
    .action(async (options: { concurrency?: string }) => {
      const config = loadConfig({ overrides: { workerConcurrency: options.concurrency } });
      const logger = createLogger(config);
      const running = await startFunnelgate(config, logger, { http: false, worker: true });
      logger.info({ concurrency: config.workerConcurrency }, 'worker running');
      await waitForShutdown(logger, config.shutdownTimeoutMs, () => running.stop());
    });
}
