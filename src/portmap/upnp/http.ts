/**
 * The HTTP client for UPnP: GET a description, POST a SOAP action. Nothing else talks HTTP to a router.
 *
 * Contract: only `http:` URLs whose host is an IP literal; never follows redirects (undici `request()`);
 * connect timeout ~3 s and a total deadline; the body is counted in bytes as it arrives and the stream is
 * destroyed once over `maxBytes`. Never throws: every failure is a value.
 */
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';

export type HttpResult =
  | { ok: true; status: number; body: string; ms: number }
  | { ok: false; kind: 'bad-url' | 'timeout' | 'too-large' | 'network'; message: string };

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

let agents = new Map<string, Dispatcher>();
let undiciLoad: Promise<typeof import('undici')> | undefined;

/** Starts loading undici now (it costs tens of ms), so that it overlaps with SSDP's wait. */
export function preloadHttp(): Promise<typeof import('undici')> {
  undiciLoad ??= import('undici');
  return undiciLoad;
}

async function agentFor(connectTimeoutMs: number, localAddress?: string): Promise<Dispatcher> {
  const key = `${connectTimeoutMs}/${localAddress ?? ''}`;
  const have = agents.get(key);
  if (have) return have;
  const { Agent } = await preloadHttp();
  // No keep-alive pool worth having: each exchange says Connection: close (as routers expect).
  const agent = new Agent({ connectTimeout: connectTimeoutMs, pipelining: 0, keepAliveTimeout: 1, ...(localAddress ? { localAddress } : {}) });
  agents.set(key, agent);
  return agent;
}

/** Closes the pooled agents (end of a CLI command, tests). */
export async function closeHttp(): Promise<void> {
  const old = agents;
  agents = new Map();
  await Promise.allSettled([...old.values()].map((a) => a.close()));
}

/** Is this URL one we may fetch at all: http, IP-literal host, no credentials? */
export function isFetchableUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && isIP(host) !== 0 && url.username === '' && url.password === '';
}

export async function httpRequest(url: URL, opts: HttpOptions): Promise<HttpResult> {
  if (!isFetchableUrl(url)) return { ok: false, kind: 'bad-url', message: `refusing to fetch ${url.href.slice(0, 200)}` };
  const started = performance.now();
  const deadline = AbortSignal.timeout(opts.timeoutMs ?? 8000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  try {
    const { request } = await preloadHttp();
    const headers: Record<string, string> = { connection: 'close', ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body, 'utf8'));
    const res = await request(url, {
      method: opts.method,
      headers,
      body: opts.body,
      signal,
      dispatcher: await agentFor(opts.connectTimeoutMs ?? 3000, opts.localAddress),
      headersTimeout: opts.timeoutMs ?? 8000,
      bodyTimeout: opts.timeoutMs ?? 8000,
    });
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      res.body.destroy();
      return { ok: false, kind: 'too-large', message: `response of ${declared} bytes is over the ${opts.maxBytes}-byte cap` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buf.length;
      if (size > opts.maxBytes) {
        res.body.destroy();
        return { ok: false, kind: 'too-large', message: `response over the ${opts.maxBytes}-byte cap` };
      }
      chunks.push(buf);
    }
    return { ok: true, status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started };
  } catch (err) {
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      const timedOut = deadline.aborted || (reason instanceof Error && reason.name === 'TimeoutError');
      return { ok: false, kind: timedOut ? 'timeout' : 'network', message: timedOut ? 'timed out' : 'aborted' };
    }
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return { ok: false, kind: 'timeout', message: code };
    }
    const message = typeof e.message === 'string' ? e.message : String(err);
    return { ok: false, kind: 'network', message: code && !message.includes(code) ? `${code}: ${message}` : message };
  }
}
