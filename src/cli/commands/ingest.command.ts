import { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openDatabase } from '../../db/connect.ts';
import { migrateToLatest } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import {
  DEFAULT_NATS_BATCH_SIZE,
  DEFAULT_NATS_DURABLE,
  DEFAULT_NATS_STREAM,
  DEFAULT_NATS_SUBJECTS,
  runNatsConsumer,
} from '../../ingest/nats-consumer.ts';
import { createLogger } from '../../logger.ts';
import { printResult } from '../output.ts';
import { waitForShutdown } from './start.command.ts';

interface NatsOptions {
  stream: string;
  durable: string;
  subject?: string[];
  servers?: string;
  batchSize: string;
  ackWait: string;
  create: boolean;
  json?: boolean;
}

// JetStream names may not contain ".", "*", ">" or whitespace; the server would refuse them less clearly.
const NATS_NAME = /^[A-Za-z0-9_-]{1,255}$/;

export function ingestCommand(): Command {
  const command = new Command('ingest').description('Ingest events from streaming sources');

  command
    .command('nats')
    .description(
      'Consume CloudEvents from a NATS JetStream stream until SIGTERM/SIGINT. Processes with the same --durable\n' +
        'share the work, on one machine or many; a message is acknowledged only once its event is stored.',
    )
    .option('--stream <name>', 'the JetStream stream', DEFAULT_NATS_STREAM)
    .option(
      '--durable <name>',
      'the durable pull consumer; every process using it shares the work',
      DEFAULT_NATS_DURABLE,
    )
    .option(
      '--subject <subject...>',
      `subjects the stream captures if it has to be created (default: ${DEFAULT_NATS_SUBJECTS.join(' ')})`,
    )
    .option(
      '--servers <urls>',
      'NATS server URL(s), comma-separated (default: NATS_URL or nats://127.0.0.1:4222)',
    )
    .option(
      '--batch-size <n>',
      'messages stored in one transaction and acknowledged together',
      String(DEFAULT_NATS_BATCH_SIZE),
    )
    .option(
      '--ack-wait <seconds>',
      'redelivery timeout for unacknowledged messages, set when the durable is created',
      '30',
    )
    .option('--no-create', 'fail if the stream does not exist instead of creating it')
    .option('--json', 'print the final summary as JSON (and log only warnings)')
    .action(async (options: NatsOptions) => {
      const batchSize = wholeNumber(options.batchSize, '--batch-size', 1, 10_000);
      const ackWaitSeconds = wholeNumber(options.ackWait, '--ack-wait', 1, 3600);
      for (const [flag, value] of [
        ['--stream', options.stream],
        ['--durable', options.durable],
      ] as const) {
        if (!NATS_NAME.test(value)) {
          throw new AppError(
            'bad_request',
            `${flag} "${value}" may only contain letters, digits, "_" and "-"`,
          );
        }
      }
      const config = loadConfig({
        overrides: { natsUrl: options.servers },
        ...(options.json ? { defaults: { logLevel: 'warn' } } : {}),
      });
      const logger = createLogger(config);
      const database = await openDatabase(config, logger);
      try {
        await migrateToLatest(database.db, database.pool, logger);
        const controller = new AbortController();
        const consumer = await runNatsConsumer({
          db: database.db,
          logger,
          servers: config.natsUrl,
          stream: options.stream,
          durable: options.durable,
          subjects: options.subject ?? DEFAULT_NATS_SUBJECTS,
          batchSize,
          ackWaitMs: ackWaitSeconds * 1000,
          createStream: options.create,
          signal: controller.signal,
        });
        const stopped = waitForShutdown(logger, config.shutdownTimeoutMs, async () => {
          controller.abort();
          await consumer.done;
        });
        // The consumer ends on its own only by failing; then the error is the command's result.
        await Promise.race([stopped, consumer.done]);
        const counters = await consumer.done;
        printResult(
          Boolean(options.json),
          { stream: options.stream, durable: options.durable, batch_id: consumer.batchId, ...counters },
          () =>
            `Stopped consuming ${options.stream} as ${options.durable}: received ${counters.received}, ` +
            `stored ${counters.stored}, duplicate ${counters.duplicate}, quarantined ${counters.quarantined}, ` +
            `redelivered ${counters.redelivered} (ingest batch ${consumer.batchId}).`,
        );
      } finally {
        await database.close();
      }
    });

  return command;
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new AppError('bad_request', `${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return number;
}
