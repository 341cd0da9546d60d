// Holdout assignment. Pure: the arm is a function of the experiment's salt and the subject id only, so every
// process, every run and every re-run agrees without asking anyone (the first assignment is also stored).
import { createHash } from 'node:crypto';

export type Arm = 'treatment' | 'holdout';

/** A number in [0, 1) from SHA-256(salt ":" subject id): uniform, and independent across salts. */
export function assignmentPoint(salt: string, subjectId: string): number {
  const digest = createHash('sha256').update(`${salt}:${subjectId}`).digest();
  return digest.readUInt32BE(0) / 4_294_967_296;
}

export function assignArm(salt: string, subjectId: string, holdoutShare: number): Arm {
  return assignmentPoint(salt, subjectId) < holdoutShare ? 'holdout' : 'treatment';
}
