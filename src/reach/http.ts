/**
 * A bounded JSON request over node:http(s), pinned to one address family (the probe must see this host's
 * IPv4 or IPv6 address, as asked). Bodies capped at 64 KiB; no redirects followed. Never throws.
 */
import type { IncomingMessage } from 'node:http';
import { describeError } from '../net/abort.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { request: httpRequest } = process.getBuiltinModule('node:http');
const { request: httpsRequest } = process.getBuiltinModule('node:https');

export type JsonResult = { ok: true; status: number; body: unknown; headers: IncomingMessage['headers'] } | { ok: false; why: string };

const MAX = 64 * 1024;

export function requestJson(url: URL, o: { method: 'GET' | 'POST'; family: 4 | 6; signal: AbortSignal; headers?: Record<string, string>; body?: unknown; localAddress?: string }): Promise<JsonResult> {
  return new Promise((resolve) => {
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const done = (r: JsonResult) => { if (!settled) { settled = true; resolve(r); } };
    try {
      const req = fn(url, {
        method: o.method,
        family: o.family,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        signal: o.signal,
        headers: {
          accept: 'application/json',
          'user-agent': 'ddns-check',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...o.headers,
        },
      }, (res) => {
        let size = 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX) { res.destroy(); done({ ok: false, why: `answer over ${MAX} bytes` }); return; }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try { body = JSON.parse(text); } catch { body = undefined; }
          done({ ok: true, status: res.statusCode ?? 0, body, headers: res.headers });
        });
        res.on('error', (err) => done({ ok: false, why: describeError(err) }));
      });
      req.on('error', (err) => done({ ok: false, why: describeError(o.signal.aborted ? o.signal.reason : err) }));
      req.end(payload);
    } catch (err) {
      done({ ok: false, why: describeError(err) });
    }
  });
}
