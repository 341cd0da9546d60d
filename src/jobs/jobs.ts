// The registry of all jobs this version knows. Areas add their job definitions here.
import type { AnyJobDefinition } from './task-list.ts';
import { graphJobs } from '../graph/graph.jobs.ts';
import { featureJobs } from '../features/features.jobs.ts';
import { modelJobs } from '../models/models.jobs.ts';

export const jobs: AnyJobDefinition[] = [...graphJobs, ...featureJobs, ...modelJobs];
