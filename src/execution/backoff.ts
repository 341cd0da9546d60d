// Retry timing and the connector circuit breaker's cool-down. Pure.

/**
 * Exponential backoff with full jitter: a uniformly random delay between 0 and min(cap, base * 2^(attempt-1)).
 * Full jitter spreads the retries of many deliveries that failed together (one outage) instead of sending them
 * back in waves. `attempt` is the number of attempts made so far (1 after the first failure).
 */
export function backoffDelayMs(
  attempt: number,
  options: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 50);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** When a retryable failure answered with Retry-After, wait at least that long (but never beyond the cap). */
export function retryDelayMs(
  attempt: number,
  options: { baseMs: number; capMs: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const delay = backoffDelayMs(attempt, options, random);
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, options.capMs));
}

/**
 * How long an open connector stays open: the cool-down, doubled for every failure beyond the threshold (a
 * failed probe after a cool-down makes the next one longer), at most 64 times the cool-down.
 */
export function breakerCooldownMs(
  consecutiveFailures: number,
  options: { threshold: number; cooldownMs: number },
): number | null {
  if (consecutiveFailures < options.threshold) return null;
  return options.cooldownMs * 2 ** Math.min(consecutiveFailures - options.threshold, 6);
}
