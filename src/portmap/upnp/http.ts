/**
 * The HTTP client for UPnP: GET a description, POST a SOAP action. Nothing else talks HTTP to a router.
 *
 * Contract: only `http:` URLs whose host is an IP literal; never follows redirects (node:http or undici
 * `request()`, see setHttpTransport); Content-Length counted in bytes;
 * connect timeout ~3 s and a total deadline; the body is counted in bytes as it arrives and the stream is
 * destroyed once over `maxBytes`. Never throws: every failure is a value.
 */
import { isIP } from 'node:net';

export type HttpResult =
  | { ok: true; status: number; body: string; ms: number }
  | { ok: false; kind: 'bad-url' | 'timeout' | 'too-large' | 'network'; why: string };

export interface HttpOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  maxBytes: number;
  signal?: AbortSignal;
  /** Total deadline for this exchange; default 8000 ms. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Source address for the connection: this host's address facing the gateway, so the router sees the
   * same address we put in InternalClient (secure_mode compares the two).
   */
  localAddress?: string;
}

export type HttpTransport = 'node' | 'undici';
let transport: HttpTransport = 'node';
let undiciUsed = false;

/**
 * Which client carries the requests. Both keep this file's contract (no redirects, byte-counted
 * Content-Length, connect and total timeouts, byte caps). `node` (node:http, built in) is the default:
 * measured in the lab, loading undici and compiling its llhttp WebAssembly costs ~150–250 ms of a
 * ~270 ms `ddns map list`, against ~25 ms for node:http. `undici` uses undici's `request()`.
 */
export function setHttpTransport(t: HttpTransport): void {
  transport = t;
}

/** Starts loading the transport now, so that it overlaps with SSDP's wait. */
export function preloadHttp(): Promise<unknown> {
  if (transport !== 'undici') return Promise.resolve();
  undiciUsed = true;
  return import('./http-undici.js').then((m) => m.preloadUndici());
}

/** Closes pooled connections (end of a CLI command, tests); nothing to do when undici never carried a request. */
export async function closeHttp(): Promise<void> {
  if (!undiciUsed) return;
  const m = await import('./http-undici.js');
  await m.closeUndici();
}

/** Is this URL one we may fetch at all: http, IP-literal host, no credentials? */
export function isFetchableUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && isIP(host) !== 0 && url.username === '' && url.password === '';
}

export async function httpRequest(url: URL, opts: HttpOptions): Promise<HttpResult> {
  if (!isFetchableUrl(url)) return { ok: false, kind: 'bad-url', why: `refusing to fetch ${url.href.slice(0, 200)}` };
  const started = performance.now();
  const deadline = AbortSignal.timeout(opts.timeoutMs ?? 8000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const headers: Record<string, string> = { connection: 'close', ...opts.headers };
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body, 'utf8'));
  if (transport === 'undici') undiciUsed = true;
  const run = transport === 'undici' ? (await import('./http-undici.js')).undiciExchange : (await import('./http-node.js')).nodeExchange;
  try {
    const r = await run(url, { ...opts, headers }, signal);
    return r.ok ? { ...r, ms: performance.now() - started } : r;
  } catch (err) {
    return failure(err, signal, deadline);
  }
}

/** Turns a thrown error into a value: timeout (our deadline), aborted, or network. */
export function failure(err: unknown, signal: AbortSignal, deadline: AbortSignal): HttpResult {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = deadline.aborted || (reason instanceof Error && reason.name === 'TimeoutError');
    return { ok: false, kind: timedOut ? 'timeout' : 'network', why: timedOut ? 'timed out' : 'aborted' };
  }
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/TIMEOUT/.test(code)) return { ok: false, kind: 'timeout', why: 'timed out' };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { ok: false, kind: 'network', why: code && !message.includes(code) ? `${code}: ${message}` : message };
}

/** The `why` of a response over the byte cap, the same from both transports. */
export function tooLargeWhy(r: { declared: boolean; bytes: number }, maxBytes: number): string {
  return r.declared ? `response of ${r.bytes} bytes is over the ${maxBytes}-byte cap` : `response over the ${maxBytes}-byte cap`;
}

/** What a transport returns: the exchange's result before timing is added. */
export type ExchangeResult = { ok: true; status: number; body: string } | Extract<HttpResult, { ok: false }>;
