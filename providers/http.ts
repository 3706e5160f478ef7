/**
 * The one HTTP call the providers make (dyndns2, DuckDNS, the JSON APIs): node:https through
 * src/net/http-client.ts (keep-alive global agent) with a timeout and the caller's signal, no redirects
 * (a redirect is an answer, not a new place to send credentials), a capped body, and failures as values.
 *
 * Contract: `httpRequest`/`httpGet` never reject; they resolve `{ ok: false, why }` for every transport
 * problem. `why` never contains the URL's query or credentials (only scheme, host and path — or
 * `opts.shown` instead, for URLs that carry a secret in their path).
 */
import { platform } from 'node:os';
import pkg from '../package.json' with { type: 'json' };
import { describeError, isTimeoutError, withTimeout } from '../src/net/abort.js';
import { exchange } from '../src/net/http-client.js';
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

export interface HttpOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH';
  body?: string;
  /** How the URL appears in `why` (default scheme://host/path). */
  shown?: string;
}

export function httpGet(url: URL, opts: HttpOptions): Promise<HttpResult> {
  return httpRequest(url, { ...opts, method: 'GET' });
}

/** A JSON request: `value` serialised as the body, JSON accepted. */
export function httpJson(url: URL, method: 'GET' | 'POST' | 'PUT' | 'PATCH', value: unknown, opts: HttpOptions): Promise<HttpResult> {
  return httpRequest(url, {
    ...opts,
    method,
    headers: { accept: 'application/json', ...(value !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(value !== undefined ? { body: JSON.stringify(value) } : {}),
  });
}

export async function httpRequest(url: URL, opts: HttpOptions): Promise<HttpResult> {
  const shown = opts.shown ?? safeUrl(url);
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const signal = withTimeout(opts.timeoutMs, opts.signal);
  try {
    const res = await exchange(url, {
      method: opts.method ?? 'GET',
      headers: { 'user-agent': USER_AGENT, accept: 'text/plain, */*', ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      signal,
      maxBytes: MAX_BODY,
    });
    if (!res.ok) return { ok: false, why: `${shown} answered more than ${MAX_BODY} bytes`, ms: ms() };
    return { ok: true, status: res.status, headers: res.headers, body: res.body, ms: ms() };
  } catch (err) {
    // Our signal is the only timer: a timeout is ours.
    const timedOut = !opts.signal.aborted && (signal.aborted || isTimeoutError(err));
    // Error messages may quote the URL (and with it a secret in its path or query): never repeat it.
    const why = timedOut ? `timed out after ${opts.timeoutMs} ms` : describeError(err).split(url.href).join('<url>');
    return { ok: false, why: `${shown}: ${why}`, ms: ms() };
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
