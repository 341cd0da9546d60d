import { Command } from 'commander';
import { startFunnelgate } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../logger.ts';

export function startCommand(): Command {
  return new Command('start')
    .description(
      'Run the API server, the job worker and the console (embedded PostgreSQL unless DATABASE_URL is set)',
    )
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8080)')
    .option('--host <host>', 'address to bind (default: HOST or 127.0.0.1; use 0.0.0.0 in containers)')
    .option('--no-worker', 'do not run the job worker in this process (run `funnelgate worker` elsewhere)')
    .option('--no-demo', 'do not fill an empty database with simulated demo data')
    .action(async (options: { port?: string; host?: string; worker: boolean; demo: boolean }) => {
      const config = loadConfig({
        overrides: { port: options.port, host: options.host, ...(options.demo ? {} : { demoData: false }) },
      });
      const logger = createLogger(config);
      const running = await startFunnelgate(config, logger, { http: true, worker: options.worker });
      const lines = [
        `Funnelgate is ready at ${running.url}`,
        `  API description (needs a token): ${running.url}/openapi.json, browsable at ${running.url}/docs`,
      ];
      if (running.demo) {
        lines.push(
          `  The database was empty: added a simulated demo company (${running.demo.accounts} accounts, ${running.demo.events} events). Start with --no-demo to skip.`,
        );
      }
      if (running.firstAdmin) {
        lines.push(
          '',
          `First start: created the admin ${running.firstAdmin.email}. Its API token (shown only this once):`,
          '',
          `  ${running.firstAdmin.token}`,
          '',
          `  curl -H "Authorization: Bearer ${running.firstAdmin.token}" ${running.url}/v1/me`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      await waitForShutdown(logger, config.shutdownTimeoutMs, () => running.stop());
    });
}

/** Resolves after SIGTERM/SIGINT and a clean stop; a second signal or the timeout forces the exit. */
export async function waitForShutdown(
  logger: ReturnType<typeof createLogger>,
  timeoutMs: number,
  stop: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => {
    let shuttingDown = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (shuttingDown) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      shuttingDown = true;
      logger.info({ signal }, 'shutting down: finishing requests and jobs in flight');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown took too long; exiting');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      stop().then(
        () => {
          clearTimeout(timer);
          logger.info('stopped cleanly');
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
