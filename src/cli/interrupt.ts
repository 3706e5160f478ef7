/**
 * Ctrl-C and `kill` for the CLI's commands, in one place. `withInterrupt(fn)` runs `fn` with a signal
 * that aborts on the first SIGINT/SIGTERM (or only the signals asked for) and removes its handlers when
 * `fn` settles, so a signal after the command is done behaves as usual. Long-lived commands wait with
 * `untilInterrupt`.
 */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** Where signals come from (the process; a test passes an EventEmitter). */
export interface InterruptSource {
  once(event: InterruptSignal, fn: () => void): unknown;
  off(event: InterruptSignal, fn: () => void): unknown;
}

export interface InterruptOptions {
  /** Which signals abort (default SIGINT and SIGTERM). */
  signals?: readonly InterruptSignal[];
  source?: InterruptSource;
}

export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, o: InterruptOptions = {}): Promise<T> {
  const source = o.source ?? process;
  const signals = o.signals ?? ['SIGINT', 'SIGTERM'];
  const ac = new AbortController();
  const onSignal = (): void => ac.abort(new Error('interrupted'));
  for (const s of signals) source.once(s, onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    for (const s of signals) source.off(s, onSignal);
  }
}

/**
 * Resolves at the first SIGINT or SIGTERM, or as soon as `also` aborts. While it waits it holds the
 * process alive (signal handlers alone do not, and the work it waits on may sit on unref'd timers, such as
 * a backoff on the real clock), so a long-lived command needs no keep-alive of its own.
 */
export function untilInterrupt(o: { source?: InterruptSource; also?: AbortSignal } = {}): Promise<void> {
  return withInterrupt((signal) => new Promise<void>((resolve) => {
    const any = o.also ? AbortSignal.any([signal, o.also]) : signal;
    if (any.aborted) { resolve(); return; }
    const hold = setInterval(() => {}, 1 << 30);
    any.addEventListener('abort', () => { clearInterval(hold); resolve(); }, { once: true });
  }), o.source ? { source: o.source } : {});
}
