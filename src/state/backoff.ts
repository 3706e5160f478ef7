/**
 * Backoff for anything that must keep trying without hammering anyone: exponential from `baseMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so that many daemons restarted by
 * the same outage do not retry in step. Pure: the random source is passed in.
 */
export interface BackoffOptions {
  /** First delay (attempt 0). */
  baseMs: number;
  /** Never more than this. */
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
}

/** The delay before retry number `attempt` (0-based). Always within [cap/2, cap] where cap = min(max, base·factor^attempt). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const factor = o.factor ?? 2;
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent so that huge attempt counts cannot overflow to Infinity/NaN.
  const cap = Math.min(o.maxMs, o.baseMs * factor ** Math.min(n, 64));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(cap / 2 + (cap / 2) * r);
}

/** A jittered interval: `ms` ± `fraction` (default 10%), never below 1 s. Pure. */
export function jitter(ms: number, random: () => number = Math.random, fraction = 0.1): number {
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(1000, Math.round(ms * (1 + fraction * (2 * r - 1))));
}
