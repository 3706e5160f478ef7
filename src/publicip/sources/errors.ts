/**
 * Turning thrown I/O errors into a source failure's kind and message. Shared by the sources.
 */
import { describeError, isTimeoutError } from '../../net/abort.js';

/**
 * After an I/O error: was it our bounded wait (`timeout`: our signal, or the HTTP client's own connect /
 * headers / body timer, whichever fired first) or the caller's signal (`aborted`)?
 * Undefined when neither has fired (a real network error).
 */
export function abortKind(combined: AbortSignal, caller?: AbortSignal, err?: unknown): 'timeout' | 'aborted' | undefined {
  if (caller?.aborted) return 'aborted';
  if (combined.aborted || isTimeoutError(err)) return 'timeout';
  return undefined;
}

/** A short message for a network error (code first: ECONNREFUSED, ENOTFOUND …). */
export function describeNetError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const host = (err as { hostname?: unknown }).hostname;
    return `cannot resolve ${typeof host === 'string' ? host : 'the host'} for this family (${code})`;
  }
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error && cause !== err) return describeError(cause);
  return describeError(err);
}
