// The registry of all jobs this version knows. Areas add their job definitions here.
import type { AnyJobDefinition } from './task-list.ts';
import { graphJobs } from '../graph/graph.jobs.ts';
import { featureJobs } from '../features/features.jobs.ts';
import { modelJobs } from '../models/models.jobs.ts';
import { agentJobs } from '../agents/agents.jobs.ts';
import { executionJobs } from '../execution/execution.jobs.ts';
import { reviewJobs } from '../review/review.jobs.ts';
import { forecastJobs } from '../agents/forecast/forecast.jobs.ts';
import { feedbackJobs } from '../feedback/feedback.jobs.ts';
import { monitoringJobs } from '../monitoring/monitoring.jobs.ts';

export const jobs: AnyJobDefinition[] = [
  ...graphJobs,
  ...featureJobs,
  ...modelJobs,
  ...reviewJobs,
  ...executionJobs,
  ...agentJobs,
  ...forecastJobs,
  ...feedbackJobs,
  ...monitoringJobs,
];
