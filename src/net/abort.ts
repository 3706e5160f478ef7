/**
 * Bounded waits. Every network call in ddns takes `{ signal }`; these helpers combine the caller's
 * signal with a timeout so that no promise can hang (docs/ARCHITECTURE.md, "Habits the code keeps").
 */

/** The caller's signal (if any) combined with a timeout of `ms`. */
export function withTimeout(ms: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal?.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * undici's own timers (connect, headers, body) end a request with these codes. ddns bounds every call with
 * its own signal too, and whichever timer fires first, the outcome is the same: a timeout of ours.
 */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Did this error come from a timer (ours: `TimeoutError`; undici's: its timeout codes), also as a cause? */
export function isTimeoutError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e.name === 'TimeoutError') return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return true;
  }
  return false;
}

/** A short human description of why something aborted or failed. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (isTimeoutError(err)) return 'timed out';
    if (err.name === 'AbortError') return 'aborted';
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
