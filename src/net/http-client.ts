/**
 * One HTTP(S) exchange over node:http / node:https (built in: no client library to load, no WebAssembly
 * parser to compile — what the idle daemon's memory budget asks for; README "Performance").
 *
 * Contract:
 * - never follows redirects (a 3xx is an answer: a redirect is never a new place to send credentials);
 * - the only timers are the caller's: `signal` bounds the whole exchange (connect, headers, body), so a
 *   timeout is always the caller's own — no library timer can fire first with a message of its own;
 *   `connectTimeoutMs`, when given, also bounds the TCP connect of a new socket (an error with code
 *   `CONNECT_TIMEOUT`);
 * - the body is counted in bytes as it arrives and the stream destroyed once over `maxBytes` (a declared
 *   Content-Length over the cap is refused before reading);
 * - resolves `{ ok: true }` with the status, the headers (lower-case names, repeated ones joined by ", ")
 *   and the body as UTF-8, or `{ ok: false, kind: 'too-large' }`; rejects with the transport error
 *   (ECONNREFUSED, a TLS failure, the signal's AbortError, `ResponseCutOff` …) for the caller to describe.
 *   Settles once.
 * - `agent`: node's global agents by default (keep-alive, so the few requests of one update share a
 *   connection); `false` for one connection per exchange (then `family`/`lookup` choose the route).
 */
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { request: httpRequest } = process.getBuiltinModule('node:http');
const { request: httpsRequest } = process.getBuiltinModule('node:https');

export interface ExchangeOptions {
  method?: string;
  headers: Record<string, string>;
  body?: string;
  /** Bounds the whole exchange; aborting destroys the socket. */
  signal: AbortSignal;
  maxBytes: number;
  agent?: Agent | false;
  family?: 4 | 6;
  lookup?: LookupFunction;
  localAddress?: string;
  /** Bounds connecting a new socket (a reused keep-alive socket is connected already); none by default. */
  connectTimeoutMs?: number;
  /** Read the body only for these statuses (default all); for others it resolves with an empty body at once. */
  readBody?: (status: number) => boolean;
}

export type ExchangeResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string }
  | { ok: false; kind: 'too-large'; bytes: number; declared: boolean; partial: string };

/** The server closed the connection before the whole response arrived. */
export class ResponseCutOff extends Error {
  constructor() {
    super('the response was cut off');
    this.name = 'ResponseCutOff';
  }
}

// Settling happens before the stream is destroyed: destroying emits 'aborted'/'close', which must not win.

/** Lower-case names, repeated values joined by ", ". */
export function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function exchange(url: URL, o: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve, reject) => {
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const done = (r: ExchangeResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return done(new Error(`unsupported scheme ${url.protocol}`));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: o.method ?? 'GET',
      headers: o.body !== undefined ? { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) } : o.headers,
      signal: o.signal,
      maxHeaderSize: 16 * 1024,
      ...(o.agent !== undefined ? { agent: o.agent } : {}),
      ...(o.family !== undefined ? { family: o.family, autoSelectFamily: false } : {}),
      ...(o.lookup ? { lookup: o.lookup } : {}),
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    req.on('error', (err) => done(err));
    const connectMs = o.connectTimeoutMs;
    if (connectMs !== undefined) {
      req.on('socket', (socket) => {
        if (!socket.connecting || settled) return;
        connectTimer = setTimeout(() => req.destroy(Object.assign(new Error(`no connection within ${connectMs} ms`), { code: 'CONNECT_TIMEOUT' })), connectMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
    }
    req.on('response', (res) => {
      res.on('error', (err) => done(err));
      if (o.readBody && !o.readBody(res.statusCode ?? 0)) {
        done({ ok: true, status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body: '' });
        return res.destroy();
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > o.maxBytes) {
        done({ ok: false, kind: 'too-large', bytes: declared, declared: true, partial: '' });
        return res.destroy();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > o.maxBytes) {
          const partial = Buffer.concat([...chunks, chunk]).subarray(0, o.maxBytes).toString('utf8');
          done({ ok: false, kind: 'too-large', bytes: size, declared: false, partial });
          return res.destroy();
        }
        chunks.push(chunk);
      });
      res.on('aborted', () => done(new ResponseCutOff()));
      res.on('close', () => { if (!res.complete) done(o.signal.aborted ? (o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted')) : new ResponseCutOff()); });
      res.on('end', () => done({ ok: true, status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(o.body);
  });
}
