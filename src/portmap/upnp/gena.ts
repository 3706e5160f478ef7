/**
 * GENA eventing (UPnP Device Architecture 1.1, §4): a subscription to the WAN connection service's
 * evented variables, so the router tells us when its ExternalIPAddress changes instead of being polled.
 * miniupnpd sends a NOTIFY with every evented variable right after SUBSCRIBE and again when its WAN
 * address changes (docs/protocols.md, "GENA events").
 *
 * Contract:
 * - `subscribeGena` listens on this host's LAN address (port chosen by the kernel, an unguessable path),
 *   SUBSCRIBEs with that CALLBACK, and renews at half the granted timeout; a refused renewal (the router
 *   rebooted and forgot the SID) becomes a fresh SUBSCRIBE; when that fails too, `onState(false)` and a
 *   retry after `retryMs`. Every request is bounded (`timeoutMs`); `close()` UNSUBSCRIBEs (best effort,
 *   bounded) and closes the listener.
 * - The listener accepts only `NOTIFY <path>` with the current SID, a body ≤ 16 KiB, headers ≤ 8 KiB,
 *   at most 8 connections, each request done within 5 s; anything else is answered 4xx and dropped.
 *   Event values are hints, never trusted: each is cleaned by `printable` and capped.
 * - Never throws from callbacks or timers; `onEvent` is called after the NOTIFY was answered.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { printable } from '../../net/text.js';
import { realClock, type Clock, type TimerHandle } from '../../state/clock.js';
import { child, children, parseXml } from './xml.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { createServer, request } = process.getBuiltinModule('node:http');

export const GENA_MAX_BODY = 16 * 1024;
const MAX_VARS = 32;
const MAX_CONNECTIONS = 8;

/** Evented variables of one NOTIFY: name → cleaned value (at most 32, each ≤ 256 code points). */
export type EventedVars = ReadonlyMap<string, string>;

/** Parses a NOTIFY body (`<e:propertyset><e:property><Name>value</Name></e:property>…`). Pure. */
export function parsePropertySet(body: string): { ok: true; vars: EventedVars } | { ok: false; why: string } {
  const doc = parseXml(body, GENA_MAX_BODY);
  if (!doc.ok) return { ok: false, why: doc.why };
  const set = child(doc.root, 'propertyset');
  if (set === undefined) return { ok: false, why: 'no <propertyset> element' };
  const vars = new Map<string, string>();
  for (const prop of children(set, 'property')) {
    if (prop === null || typeof prop !== 'object') continue;
    for (const [name, value] of Object.entries(prop as Record<string, unknown>)) {
      if (vars.size >= MAX_VARS) break;
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) continue;
      vars.set(name, typeof value === 'string' || typeof value === 'number' ? printable(String(value), 256) : '');
    }
  }
  return { ok: true, vars };
}

/** SID and granted timeout (s) from a SUBSCRIBE answer's headers. Pure. */
export function parseSubscribeAnswer(headers: Record<string, string | string[] | undefined>): { ok: true; sid: string; timeoutS: number } | { ok: false; why: string } {
  const one = (k: string): string => { const v = headers[k]; return (Array.isArray(v) ? v[0] : v) ?? ''; };
  const sid = one('sid').trim();
  if (!/^uuid:[\x21-\x7e]{1,128}$/.test(sid)) return { ok: false, why: sid === '' ? 'no SID in the answer' : `bad SID ${JSON.stringify(printable(sid, 60))}` };
  const t = /^\s*Second-(\d{1,7}|infinite)\s*$/i.exec(one('timeout'));
  // No or unreadable TIMEOUT: assume the spec's minimum of 1800 s is not promised; renew as if 300 s.
  const timeoutS = !t ? 300 : t[1]?.toLowerCase() === 'infinite' ? 1800 : Math.max(30, Number(t[1]));
  return { ok: true, sid, timeoutS };
}

export interface GenaOptions {
  /** The service's eventSubURL (already confined to the device's host:port). */
  eventSubUrl: URL;
  /** This host's address facing the router: the listener binds it and the CALLBACK names it. */
  localAddress: string;
  onEvent(vars: EventedVars): void;
  /** Subscription up (true) or lost (false, with why). */
  onState?(up: boolean, detail: string): void;
  /** Asked-for subscription length (s); default 1800. */
  requestTimeoutS?: number;
  /** Per-request bound (ms); default 5000. */
  timeoutMs?: number;
  /** Retry after a failed (re)subscription (ms); default 60 000. */
  retryMs?: number;
  clock?: Clock;
}

export interface GenaSubscription {
  readonly sid: string;
  readonly timeoutS: number;
  /** The callback URL the router was given. */
  readonly callback: string;
  close(): Promise<void>;
}

type SubscribeResult = { ok: true; sid: string; timeoutS: number } | { ok: false; status?: number; why: string };

function genaRequest(url: URL, method: 'SUBSCRIBE' | 'UNSUBSCRIBE', headers: Record<string, string>, localAddress: string, timeoutMs: number): Promise<SubscribeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: SubscribeResult): void => { if (!settled) { settled = true; resolve(r); } };
    const req = request({
      host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname}${url.search}`,
      method, headers: { host: url.host, connection: 'close', ...headers }, agent: false, localAddress, maxHeaderSize: 8 * 1024,
      signal: AbortSignal.timeout(timeoutMs),
    });
    req.on('error', (err) => done({ ok: false, why: /abort|timeout/i.test(err.name + err.message) ? `timed out after ${timeoutMs} ms` : printable(err.message, 200) }));
    req.on('response', (res) => {
      res.resume();
      res.on('error', () => undefined);
      if (res.statusCode !== 200) return done({ ok: false, status: res.statusCode ?? 0, why: `HTTP ${res.statusCode ?? 0}` });
      if (method === 'UNSUBSCRIBE') return done({ ok: true, sid: '', timeoutS: 0 });
      const a = parseSubscribeAnswer(res.headers);
      done(a.ok ? a : { ok: false, why: a.why });
    });
    req.end();
  });
}

/** Subscribes to `eventSubUrl`; resolves once the router accepted (or refused) the first SUBSCRIBE. */
export async function subscribeGena(o: GenaOptions): Promise<{ ok: true; sub: GenaSubscription } | { ok: false; why: string }> {
  const clock = o.clock ?? realClock;
  const timeoutMs = o.timeoutMs ?? 5000;
  const path = `/ddns-gena/${randomBytes(12).toString('hex')}`;
  let sid = '';
  let closed = false;
  let timer: TimerHandle | undefined;
  const safe = (fn: () => void): void => { try { fn(); } catch { /* a callback's failure is not ours */ } };

  const server: Server = createServer({ requestTimeout: 5000, headersTimeout: 5000, maxHeaderSize: 8 * 1024, keepAliveTimeout: 1000 }, (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number): void => { res.writeHead(status, { connection: 'close', 'content-length': '0' }).end(); };
    if (req.method !== 'NOTIFY' || req.url !== path) { reply(req.method === 'NOTIFY' ? 404 : 405); req.destroy(); return; }
    if (sid === '' || req.headers.sid !== sid || req.headers.nt !== 'upnp:event' || req.headers.nts !== 'upnp:propchange') { reply(412); req.destroy(); return; }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > GENA_MAX_BODY) { reply(413); req.destroy(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > GENA_MAX_BODY) { reply(413); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > GENA_MAX_BODY) return;
      reply(200);
      const p = parsePropertySet(Buffer.concat(chunks).toString('utf8'));
      if (p.ok) safe(() => o.onEvent(p.vars));
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  const listening = await new Promise<{ ok: true } | { ok: false; why: string }>((resolve) => {
    server.once('error', (err) => resolve({ ok: false, why: `cannot listen for events on ${o.localAddress}: ${printable(err.message, 200)}` }));
    server.listen(0, o.localAddress, () => resolve({ ok: true }));
  });
  if (!listening.ok) return listening;
  server.unref();
  const port = (server.address() as AddressInfo).port;
  const host = o.localAddress.includes(':') ? `[${o.localAddress}]` : o.localAddress;
  const callback = `http://${host}:${port}${path}`;
  const requested = `Second-${o.requestTimeoutS ?? 1800}`;

  const fresh = () => genaRequest(o.eventSubUrl, 'SUBSCRIBE', { callback: `<${callback}>`, nt: 'upnp:event', timeout: requested }, o.localAddress, timeoutMs);
  const renew = () => genaRequest(o.eventSubUrl, 'SUBSCRIBE', { sid, timeout: requested }, o.localAddress, timeoutMs);

  let granted = 0;
  const schedule = (ms: number): void => {
    timer?.cancel();
    if (!closed) timer = clock.setTimer(() => { void refresh(); }, ms);
  };
  const refresh = async (): Promise<void> => {
    if (closed) return;
    let r = sid ? await renew() : await fresh();
    if (!r.ok && sid && !closed) {
      // 412 Precondition Failed: the router no longer knows our SID (rebooted): subscribe afresh.
      sid = '';
      r = await fresh();
    }
    if (closed) return;
    if (r.ok) {
      const was = sid;
      sid = r.sid;
      granted = r.timeoutS;
      if (was !== r.sid) safe(() => o.onState?.(true, `subscribed (SID ${printable(r.sid, 80)}, ${r.timeoutS} s)`));
      schedule(Math.max(15, granted / 2) * 1000);
    } else {
      sid = '';
      safe(() => o.onState?.(false, `subscription lost: ${r.why}`));
      schedule(o.retryMs ?? 60_000);
    }
  };

  // The router's initial NOTIFY (the current values) may race the SUBSCRIBE answer and be refused (412)
  // for want of a SID: harmless, the caller reads the current address itself when subscribed.
  const first = await fresh();
  if (!first.ok) {
    closed = true;
    await new Promise<void>((r) => server.close(() => r()));
    return { ok: false, why: `SUBSCRIBE ${o.eventSubUrl.pathname} refused: ${first.why}` };
  }
  sid = first.sid;
  granted = first.timeoutS;
  schedule(Math.max(15, granted / 2) * 1000);

  return {
    ok: true,
    sub: {
      get sid() { return sid; },
      get timeoutS() { return granted; },
      callback,
      async close() {
        if (closed) return;
        closed = true;
        timer?.cancel();
        const was = sid;
        sid = '';
        if (was) await genaRequest(o.eventSubUrl, 'UNSUBSCRIBE', { sid: was }, o.localAddress, Math.min(timeoutMs, 2000));
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    },
  };
}
