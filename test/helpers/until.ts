/**
 * Waits on the event loop until `cond` holds — the tests' one event wait. Each turn runs after pending I/O
 * and timers (setImmediate), so a fake clock's callbacks and socket events get their go between checks;
 * after the first thousand turns it checks every 5 ms instead, so a wait for real I/O does not spin a CPU.
 *
 * Bounded: past `ms` (a hang guard, never a margin the test relies on) or when `signal` aborts, it fails
 * the test with what it waited for, instead of spinning until the runner's timeout.
 */
import assert from 'node:assert/strict';

export interface UntilOptions {
  /** Hang guard (default 30 s). */
  ms?: number;
  signal?: AbortSignal;
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, o: UntilOptions = {}): Promise<void> {
  const guard = AbortSignal.timeout(o.ms ?? 30_000);
  const stop = o.signal ? AbortSignal.any([guard, o.signal]) : guard;
  for (let turn = 0; !(await cond()); turn++) {
    if (stop.aborted) assert.fail(`gave up waiting for ${what} (${o.signal?.aborted ? 'aborted' : `hang guard, ${o.ms ?? 30_000} ms`})`);
    await new Promise((r) => (turn < 1000 ? setImmediate(r) : setTimeout(r, 5)));
  }
}
