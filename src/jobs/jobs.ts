// The registry of all jobs this version knows. Areas add their job definitions here.
import type { AnyJobDefinition } from './task-list.ts';

export const jobs: AnyJobDefinition[] = [];
