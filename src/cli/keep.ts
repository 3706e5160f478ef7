/** `map add --keep`: runs an upkeep loop until SIGINT/SIGTERM; its events go to stderr as JSON lines. */
import { withInterrupt } from './interrupt.js';

/** Runs `fn` with a signal that aborts on SIGINT/SIGTERM and the router check interval (DDNS_MAP_CHECK_MS, default 60 s). */
export async function untilStopped(fn: (signal: AbortSignal, checkIntervalMs: number) => Promise<void>): Promise<void> {
  const checkIntervalMs = Number(process.env.DDNS_MAP_CHECK_MS) > 0 ? Number(process.env.DDNS_MAP_CHECK_MS) : 60_000;
  await withInterrupt((signal) => fn(signal, checkIntervalMs));
}

/** One upkeep event as a JSON line on stderr. */
export function writeEvent(e: object): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
}
