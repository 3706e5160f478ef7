/**
 * The node:http transport of http.ts: src/net/http-client.ts's `exchange` with no agent (one connection per
 * exchange, Connection: close), the source address facing the gateway, and a connect timeout on the socket
 * (the caller's signal is the total deadline). It maps the shared client's results to this transport's values
 * and texts.
 */
import { ResponseCutOff, exchange } from '../../net/http-client.js';
import { tooLargeWhy, type ExchangeResult, type HttpOptions } from './http.js';

/** Throws on transport errors (http.ts turns them into values). */
export async function nodeExchange(url: URL, opts: HttpOptions & { headers: Record<string, string> }, signal: AbortSignal): Promise<ExchangeResult> {
  try {
    const r = await exchange(url, {
      method: opts.method,
      headers: opts.headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      signal,
      maxBytes: opts.maxBytes,
      agent: false,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    if (!r.ok) return { ok: false, kind: 'too-large', why: tooLargeWhy(r, opts.maxBytes) };
    return { ok: true, status: r.status, body: r.body };
  } catch (err) {
    throw err instanceof ResponseCutOff ? new Error('response aborted') : err;
  }
}
