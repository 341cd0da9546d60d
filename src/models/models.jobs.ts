// Scheduled retraining: a new challenger every night from the latest outcomes. Promotion stays a human,
// audited decision; a model is never promoted by the schedule.
import { z } from 'zod';
import { isAppError } from '../errors.ts';
import { defineJob } from '../jobs/task-list.ts';
import { trainLeadModel } from './train-lead-model.ts';

export const retrainJob = defineJob({
  id: 'models.retrain',
  schema: z.object({ kind: z.enum(['gbt', 'logistic']).default('gbt') }).passthrough(),
  async handler(payload, { db, logger }) {
    try {
      const result = await trainLeadModel(db, { kind: payload.kind, by: 'schedule' });
      logger.info(
        { version: result.version, alias: result.alias, roc_auc: result.metrics.roc_auc },
        'scheduled retraining registered a new version',
      );
    } catch (error) {
      // Too few outcomes yet is the normal state of a young install, not a failure to retry.
      if (isAppError(error) && error.code === 'conflict') {
        logger.info({ reason: error.message }, 'scheduled retraining skipped');
        return;
      }
      throw error;
    }
  },
});

export const modelJobs = [retrainJob];
