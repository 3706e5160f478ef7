/**
 * The one HTTP call the text-protocol providers (dyndns2, DuckDNS) make: undici `request` with a
 * timeout and the caller's signal, no redirects (a redirect is an answer, not a new place to send
 * credentials), a capped body, and failures as values.
 *
 * Contract: `httpGet` never rejects; it resolves `{ ok: false, why }` for every transport problem. `why`
 * never contains the URL's query or credentials (only scheme, host and path).
 */
import { platform } from 'node:os';
import { request } from 'undici';
import pkg from '../package.json' with { type: 'json' };
import { describeError, isTimeoutError, withTimeout } from '../src/net/abort.js';
import { readCapped } from '../src/net/body.js';
import { MAX_RETRY_AFTER_SECONDS } from './provider.js';

const MAX_BODY = 64 * 1024;

/** No-IP's documented form: `Company NameOfProgram/OSVersion-ReleaseVersion maintainer-contact@example.com`. */
export const USER_AGENT = `ddns ddns/${platform()}-${pkg.version} ddns-maintainers@users.noreply.github.com`;

export type HttpResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string; ms: number }
  | { ok: false; why: string; ms: number };

/** scheme://host/path of a URL, for messages and logs (no query, no userinfo). */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export async function httpGet(url: URL, opts: { headers: Record<string, string>; signal: AbortSignal; timeoutMs: number }): Promise<HttpResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const signal = withTimeout(opts.timeoutMs, opts.signal);
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { 'user-agent': USER_AGENT, accept: 'text/plain, */*', ...opts.headers },
      signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    const body = await readCapped(res.body, MAX_BODY, res.headers['content-length']);
    if (!body.ok) return { ok: false, why: `${safeUrl(url)} answered more than ${MAX_BODY} bytes`, ms: ms() };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    return { ok: true, status: res.statusCode, headers, body: body.text, ms: ms() };
  } catch (err) {
    // Our signal or undici's headers/body timer, whichever fired first: the same timeout of ours.
    const timedOut = !opts.signal.aborted && (signal.aborted || isTimeoutError(err));
    const why = timedOut ? `timed out after ${opts.timeoutMs} ms` : describeError(err);
    return { ok: false, why: `${safeUrl(url)}: ${why}`, ms: ms() };
  }
}

/**
 * Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), at most 24 h
 * (MAX_RETRY_AFTER_SECONDS); undefined when absent/garbage.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date = new Date()): number | undefined {
  if (!value) return undefined;
  const t = value.trim();
  if (/^\d+$/.test(t)) return Math.min(Number(t), MAX_RETRY_AFTER_SECONDS);
  const when = Date.parse(t);
  if (Number.isNaN(when)) return undefined;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil((when - now.getTime()) / 1000)));
}
