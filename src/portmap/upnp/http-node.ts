/**
 * The node:http transport of http.ts (built in: no module to load, no WebAssembly to compile).
 * node:http never follows redirects; no agent (one connection per exchange, Connection: close); a
 * connect timeout on the socket, the caller's signal for the total deadline; the body counted in bytes
 * and the socket destroyed once over the cap. Every event is guarded: it settles exactly once.
 */
import type { ExchangeResult, HttpOptions } from './http.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { request } = process.getBuiltinModule('node:http');

export function nodeExchange(url: URL, opts: HttpOptions & { headers: Record<string, string> }, signal: AbortSignal): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve, reject) => {
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const done = (r: ExchangeResult | Error): void => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const req = request({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? 80 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: opts.method,
      headers: opts.headers,
      agent: false,
      signal,
      maxHeaderSize: 16 * 1024,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    req.on('error', (err) => done(err));
    req.on('socket', (socket) => {
      connectTimer = setTimeout(() => {
        const e = Object.assign(new Error(`no connection within ${opts.connectTimeoutMs ?? 3000} ms`), { code: 'CONNECT_TIMEOUT' });
        req.destroy(e);
      }, opts.connectTimeoutMs ?? 3000);
      socket.once('connect', () => { if (connectTimer) clearTimeout(connectTimer); });
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        res.destroy();
        req.destroy();
        return done({ ok: false, kind: 'too-large', why: `response of ${declared} bytes is over the ${opts.maxBytes}-byte cap` });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) {
          res.destroy();
          req.destroy();
          return done({ ok: false, kind: 'too-large', why: `response over the ${opts.maxBytes}-byte cap` });
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('response aborted')));
      res.on('end', () => done({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(opts.body);
  });
}
