// Every durable job: an id, a zod schema for its payload, and a handler. Payloads are validated when a job
// runs, so a job enqueued by an older version with a stale shape fails loudly instead of doing the wrong thing.
import type { JobHelpers, Task, TaskList } from 'graphile-worker';
import type { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../errors.ts';

export interface JobContext {
  db: Db;
  logger: Logger;
}

export interface JobDefinition<S extends z.ZodType> {
  id: string;
  schema: S;
  handler: (payload: z.infer<S>, context: JobContext, helpers: JobHelpers) => Promise<void>;
}

export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<any>;

export function buildTaskList(jobs: readonly AnyJobDefinition[], context: JobContext): TaskList {
  const taskList: TaskList = {};
  for (const job of jobs) {
    const task: Task = async (raw, helpers) => {
      const parsed = job.schema.safeParse(raw);
      if (!parsed.success) {
        throw new AppError(
          'validation_failed',
          `Job ${job.id} has an invalid payload: ${parsed.error.message}`,
        );
      }
      await job.handler(
        parsed.data,
        { ...context, logger: context.logger.child({ job: job.id, jobId: helpers.job.id }) },
        helpers,
      );
    };
    taskList[job.id] = task;
  }
  return taskList;
}
