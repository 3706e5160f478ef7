/** `map add --keep`: runs an upkeep loop until SIGINT/SIGTERM; its events go to stderr as JSON lines. */
import { withInterrupt } from './interrupt.js';

/** Runs `fn` with a signal that aborts on SIGINT/SIGTERM and the router check interval (DDNS_MAP_CHECK_MS, default 60 s). */
export async function untilStopped(fn: (signal: AbortSignal, checkIntervalMs: number) => Promise<void>): Promise<void> {
  const checkIntervalMs = Number(process.env.DDNS_MAP_CHECK_MS) > 0 ? Number(process.env.DDNS_MAP_CHECK_MS) : 60_000;
  await withInterrupt((signal) => fn(signal, checkIntervalMs));
}

/** One upkeep event as a JSON line on stderr. */
export function writeEvent(e: object): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...asShipped(e) })}\n`);
}

/**
 * The line as it shipped: a failed mapping's text is `outcome.message` in these lines, which scripts read;
 * in code a failure's text is `why` (docs/ARCHITECTURE.md), so it is renamed here, at the output's edge.
 */
function asShipped(e: object): object {
  if (!('outcome' in e) || typeof e.outcome !== 'object' || e.outcome === null || !('why' in e.outcome)) return e;
  const { why, ...rest } = e.outcome as { why: unknown };
  return { ...e, outcome: { ...rest, message: why } };
}
