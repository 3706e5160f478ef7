/**
 * `ddns probe serve`: the self-hostable reachability probe (HTTP, or HTTPS with its own certificate;
 * behind a TLS proxy with `trustProxy`). It is the one part of ddns strangers can reach.
 *
 * Contract:
 * - It connects ONLY to the caller's own source address (caller.ts: the socket's peer; with `trustProxy`
 *   and a loopback peer, the last X-Forwarded-For entry — never the proxy's own address). No request
 *   field names a target. A hostname is only resolved, and the check refused unless it resolves to that
 *   same address; the reply says only whether it matches, never what it resolves to (no DNS oracle).
 * - Callers that are not global unicast (loopback, unspecified, private, link-local, …) get no
 *   connect-back unless `allowPrivateCallers` — a probe on the internet never probes its own host or LAN.
 * - With a token, every endpoint but /healthz wants `Authorization: Bearer <token>`, compared in constant
 *   time. Wrong tokens back off per address (IPv6: per /64) with 429 (guard.ts); refusals are logged at
 *   most once a minute per address.
 * - Slow clients cannot lock others out: idle, TLS-handshake and header timeouts of 5 s, enforced every
 *   500 ms (Node checks only every 30 s by default); at most 16 connections per peer address (/64) and
 *   `maxConnections` in all — past that the oldest connection without a request in progress is dropped,
 *   so a fresh client always gets in. Behind a proxy the per-peer cap does not apply to the proxy.
 * - Per-caller limits (rate, checks in flight) count on the caller (/64) after the headers are parsed,
 *   so behind a proxy they are per client, not one cap for everybody. A /v1/reach body (≤ 4 KiB) is read
 *   and parsed within 2 s BEFORE a rate token or an in-flight slot is taken. Excess is refused (429/503),
 *   never queued without bound.
 * - Nothing a client sends can throw out of a handler; the server answers JSON for every request.
 *
 * Endpoints: `POST /v1/reach` (types.ts), echoip's `GET /port/N`, `GET /` and `GET /ip` (the caller's
 * address), `GET /healthz`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Resolver } from 'node:dns/promises';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { canonicalAddress, classifyAddress, isLoopback } from '../net/address.js';
import { describeError } from '../net/abort.js';
import { callerOf, limitKey } from './caller.js';
import { tcpBanner, tcpNonce, tcpReachable, udpNonce } from './connectback.js';
import { Sampler, TokenBackoff } from './guard.js';
import { RateLimiter, type RateLimitOptions } from './ratelimit.js';
import { bearerCheck } from './token.js';
import { drive, type WarmUpOptions } from './warmup.js';
import { parseProbeRequest, type HostnameView, type ProbeRequest, type ProbeResponse } from './types.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { createServer: createHttp } = process.getBuiltinModule('node:http');
const { createServer: createHttps } = process.getBuiltinModule('node:https');

export interface ProbeServerOptions {
  token?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Take the caller from X-Forwarded-For (last entry) when the peer is loopback (a local TLS proxy). */
  trustProxy?: boolean;
  /** Connect back to callers that are not global unicast (loopback, private …): tests and LAN use only. */
  allowPrivateCallers?: boolean;
  rate?: RateLimitOptions;
  /** Checks in flight, in all (default 32) and per client (default 4). */
  maxConcurrent?: number;
  perClientConcurrent?: number;
  /** Open connections in all (default 4096) and per peer address or /64 (default 16). */
  maxConnections?: number;
  perPeerConnections?: number;
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Idle, TLS handshake and header timeouts (default 5000 each) and the body read (default 2000). */
  timeouts?: { idleMs?: number; handshakeMs?: number; headersMs?: number; bodyMs?: number };
  /** Wrong tokens allowed per address before the backoff starts (default 5). */
  freeTokenFailures?: number;
  /** Clock for the limiters (ms, monotonic); tests inject one. */
  now?: () => number;
  /** Resolves a hostname's addresses of a family (default: the system resolver, 2 s). */
  resolve?: (name: string, family: 4 | 6, signal: AbortSignal) => Promise<string[]>;
  /**
   * Before listening, run a mix of requests over loopback through a throwaway instance (warmup.ts), so an
   * attack that begins as the process starts meets optimised code. `ddns probe serve` turns it on.
   */
  warmUp?: boolean | WarmUpOptions;
  /** Structured events (`probe.request`, `probe.refused`, `probe.evicted`, `probe.warmed`); never given the token. */
  log?: (event: Record<string, unknown>) => void;
}

export interface ProbeServer {
  server: Server;
  address: { host: string; port: number };
  /** Checks in flight, clients with a rate-limit bucket, open connections (all bounded). */
  stats(): { inflight: number; clients: number; connections: number };
  close(): Promise<void>;
}

const BODY_MAX = 4096;

async function systemResolve(name: string, family: 4 | 6, signal: AbortSignal): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  const onAbort = () => r.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return family === 4 ? await r.resolve4(name) : await r.resolve6(name);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Answers and ends the connection: pipelined guesses are never parsed, and what is left of a body is
 * discarded while the reply drains (destroying at once would reset the reply away); 1 s at most.
 */
function sendAndClose(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.on('finish', () => { req.resume(); setTimeout(() => req.socket.destroy(), 1000).unref(); });
  send(res, status, body, { ...headers, connection: 'close' });
}

type BodyResult = { ok: true; text: string } | { ok: false; status: number; message: string };

function readBody(req: IncomingMessage, signal: AbortSignal): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > BODY_MAX) return Promise.resolve({ ok: false, status: 413, message: `body over ${BODY_MAX} bytes` });
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (r: BodyResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      req.removeListener('data', onData);
      resolve(r);
    };
    const onAbort = () => done({ ok: false, status: 408, message: 'request body too slow' });
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > BODY_MAX) { done({ ok: false, status: 413, message: `body over ${BODY_MAX} bytes` }); return; }
      chunks.push(c);
    };
    if (signal.aborted) { onAbort(); return; }
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.on('end', () => done({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => done({ ok: false, status: 400, message: 'request aborted' }));
  });
}

/** The caller's address: the peer, or behind a trusted local proxy the last X-Forwarded-For entry. */
export function callerAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const r = callerOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxy);
  return r.ok ? r.caller : undefined;
}

export async function startProbeServer(listen: { host: string; port: number }, o: ProbeServerOptions = {}): Promise<ProbeServer> {
  if (o.warmUp) await warmUp(o, o.warmUp === true ? {} : o.warmUp);
  return serve(listen, o);
}

/**
 * The warm-up: a throwaway instance (plain HTTP, the same handler, limiters of its own, no log, no per-peer
 * cap) on an ephemeral loopback port, driven and closed before the real one listens. A host where loopback
 * cannot be bound just starts cold.
 */
async function warmUp(o: ProbeServerOptions, w: WarmUpOptions): Promise<void> {
  const t0 = performance.now();
  let scratch: ProbeServer;
  try {
    scratch = await serve({ host: '127.0.0.1', port: 0 }, {
      ...(o.token !== undefined ? { token: o.token } : {}), ...(o.timeouts ? { timeouts: o.timeouts } : {}),
      perPeerConnections: Number.MAX_SAFE_INTEGER, resolve: () => Promise.resolve([]),
    });
  } catch {
    return;
  }
  try {
    const connections = await drive(scratch.address.port, o.token, w);
    o.log?.({ event: 'probe.warmed', connections, ms: Math.round(performance.now() - t0) });
  } finally {
    await scratch.close();
  }
}

function serve(listen: { host: string; port: number }, o: ProbeServerOptions): Promise<ProbeServer> {
  const now = o.now ?? (() => performance.now());
  const limiter = new RateLimiter({ now, ...(o.rate ?? { burst: 20, perMinute: 30 }) });
  const backoff = new TokenBackoff({ now, free: o.freeTokenFailures ?? 5 });
  const sampler = new Sampler({ now });
  const maxAll = o.maxConcurrent ?? 32;
  const maxPer = o.perClientConcurrent ?? 4;
  const maxConns = o.maxConnections ?? 4096;
  const perPeerConns = o.perPeerConnections ?? 16;
  const idleMs = o.timeouts?.idleMs ?? 5000;
  const headersMs = o.timeouts?.headersMs ?? 5000;
  const bodyMs = o.timeouts?.bodyMs ?? 2000;
  const inflight = new Map<string, number>();
  let total = 0;
  const connectTimeoutMs = o.connectTimeoutMs ?? 2000;
  const readTimeoutMs = o.readTimeoutMs ?? 1500;
  const resolveName = o.resolve ?? systemResolve;
  const log = o.log ?? (() => {});
  const closing = new AbortController();
  const tokenOk = o.token === undefined ? undefined : bearerCheck(o.token);

  /** A refusal, logged at most once a minute per address (the count of the quiet ones rides along). */
  function refused(reason: string, caller: string, key: string): void {
    const s = sampler.take(key);
    if (s) log({ event: 'probe.refused', reason, caller, ...(s.suppressed > 0 ? { suppressed: s.suppressed } : {}) });
  }

  async function hostnameView(name: string, caller: string, family: 4 | 6): Promise<HostnameView> {
    try {
      const addrs = (await resolveName(name, family, AbortSignal.any([closing.signal, AbortSignal.timeout(2000)]))).filter((a) => isIP(a) !== 0).map(canonicalAddress);
      return { name, matches: addrs.includes(caller) };
    } catch {
      return { name, matches: false, error: 'could not resolve it' };
    }
  }

  async function reach(caller: string, r: ProbeRequest): Promise<{ status: number; body: ProbeResponse }> {
    const t0 = performance.now();
    const family = isIP(caller) === 6 ? 6 : 4;
    const base = { ip: caller, port: r.port, protocol: r.protocol };
    let hostname: HostnameView | undefined;
    if (r.hostname) {
      hostname = await hostnameView(r.hostname, caller, family);
      if (!hostname.matches) {
        const why = hostname.error ? `could not resolve ${r.hostname}` : `${r.hostname} does not resolve to the caller ${caller}`;
        return { status: 403, body: { ...base, reachable: false, hostname, error: `${why} — the probe connects only to the caller's own address`, ms: Math.round(performance.now() - t0) } };
      }
    }
    const t = { timeoutMs: connectTimeoutMs, readMs: readTimeoutMs, signal: closing.signal };
    const x = r.protocol === 'udp'
      ? await udpNonce(caller, r.port, r.nonce ?? '', { timeoutMs: connectTimeoutMs, signal: closing.signal })
      : r.mode === 'nonce' ? await tcpNonce(caller, r.port, r.nonce ?? '', t) : await tcpBanner(caller, r.port, t);
    return { status: 200, body: { ...base, ...x, ...(hostname ? { hostname } : {}), ms: Math.round(performance.now() - t0) } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const who = callerOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], o.trustProxy === true);
    if (!who.ok) { sendAndClose(req, res, 400, { error: who.why }); return; }
    const { caller } = who;
    const key = limitKey(caller);
    const url = new URL(req.url ?? '/', 'http://probe');
    const path = url.pathname;
    if (path === '/healthz') { send(res, 200, { ok: true }); return; }
    if (tokenOk) {
      const wait = backoff.blocked(key);
      if (wait > 0) {
        refused('token-backoff', caller, key);
        sendAndClose(req, res, 429, { error: 'too many wrong tokens from this address: wait', retryAfter: wait }, { 'retry-after': String(wait) });
        return;
      }
      if (!tokenOk(req.headers.authorization)) {
        backoff.failed(key);
        refused('token', caller, key);
        sendAndClose(req, res, 401, { error: 'unauthorized: send Authorization: Bearer <probe token>' }, { 'www-authenticate': 'Bearer' });
        return;
      }
      backoff.succeeded(key);
    }
    if ((path === '/' || path === '/ip') && req.method === 'GET') { send(res, 200, { ip: caller }); return; }
    const portMatch = /^\/port\/(\d{1,5})$/.exec(path);
    const isReach = path === '/v1/reach';
    if (!portMatch && !isReach) { send(res, 404, { error: 'not found: POST /v1/reach or GET /port/N' }); return; }
    if (isReach && req.method !== 'POST') { send(res, 405, { error: 'POST /v1/reach' }, { allow: 'POST' }); return; }
    if (portMatch && req.method !== 'GET') { send(res, 405, { error: 'GET /port/N' }, { allow: 'GET' }); return; }
    const cls = classifyAddress(caller);
    if (cls !== 'global' && o.allowPrivateCallers !== true) {
      refused('not-public', caller, key);
      send(res, 403, { error: `the probe connects back only to public addresses; ${caller} is ${cls}` });
      return;
    }

    // The request is read and parsed in full before it costs a rate token or holds a slot.
    let check: { kind: 'port'; port: number } | { kind: 'reach'; req: ProbeRequest };
    if (portMatch) {
      const port = Number(portMatch[1]);
      if (port < 1 || port > 65535) { send(res, 400, { status: 400, error: `Invalid port: ${port}` }); return; }
      check = { kind: 'port', port };
    } else {
      const body = await readBody(req, AbortSignal.any([closing.signal, AbortSignal.timeout(bodyMs)]));
      if (!body.ok) { sendAndClose(req, res, body.status, { error: body.message }); return; }
      let doc: unknown;
      try { doc = JSON.parse(body.text); } catch { send(res, 400, { error: 'body is not JSON' }); return; }
      const p = parseProbeRequest(doc);
      if (!p.ok) { send(res, 400, { error: p.why }); return; }
      check = { kind: 'reach', req: p.req };
    }

    const wait = limiter.take(key);
    if (wait > 0) { refused('rate', caller, key); send(res, 429, { error: 'rate limited', retryAfter: wait }, { 'retry-after': String(wait) }); return; }
    const mine = inflight.get(key) ?? 0;
    if (mine >= maxPer || total >= maxAll) { send(res, 503, { error: 'busy: too many checks in flight' }, { 'retry-after': '1' }); return; }
    inflight.set(key, mine + 1);
    total++;
    try {
      if (check.kind === 'port') {
        const reachable = await tcpReachable(caller, check.port, { timeoutMs: connectTimeoutMs, signal: closing.signal });
        log({ event: 'probe.request', api: 'port', caller, port: check.port, reachable });
        send(res, 200, { ip: caller, port: check.port, reachable });
        return;
      }
      const out = await reach(caller, check.req);
      log({ event: 'probe.request', api: 'reach', caller, port: check.req.port, protocol: check.req.protocol, mode: check.req.mode, reachable: out.body.reachable });
      send(res, out.status, out.body);
    } finally {
      const n = (inflight.get(key) ?? 1) - 1;
      if (n <= 0) inflight.delete(key); else inflight.set(key, n);
      total--;
    }
  }

  // Open connections, oldest first, and those with a request being answered (never evicted).
  const open = new Set<Socket>();
  const answering = new WeakSet<Socket>();
  const perPeer = new Map<string, number>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const sock = req.socket;
    answering.add(sock);
    res.once('close', () => answering.delete(sock));
    handle(req, res).catch((err: unknown) => {
      log({ event: 'probe.error', error: describeError(err) });
      send(res, 500, { error: 'internal error' });
    });
  };
  // Node enforces headersTimeout/requestTimeout only when it checks its connections: every 30 s by
  // default, which let slow headers hold a socket for ~30 s. Check at least every 500 ms.
  const checkMs = Math.max(50, Math.min(500, Math.floor(headersMs / 2)));
  const base = { connectionsCheckingInterval: checkMs, headersTimeout: headersMs, requestTimeout: headersMs + bodyMs + 1000, keepAliveTimeout: Math.min(2000, idleMs), maxHeaderSize: 8192 };
  const server: Server = o.tls
    ? createHttps({ ...base, cert: o.tls.cert, key: o.tls.key, handshakeTimeout: o.timeouts?.handshakeMs ?? 5000 }, onRequest)
    : createHttp(base, onRequest);
  server.headersTimeout = headersMs;
  server.requestTimeout = base.requestTimeout;
  server.keepAliveTimeout = base.keepAliveTimeout;
  server.maxHeadersCount = 50;
  // Idle: a connection that sends nothing for idleMs is closed, unless its request is being answered
  // (a check may take a few seconds; the header and body timeouts bound the client's part).
  server.setTimeout(idleMs, (sock: Socket) => { if (!answering.has(sock)) sock.destroy(); });
  server.on('clientError', (_err, socket) => { try { socket.destroy(); } catch { /* gone */ } });
  server.on('tlsClientError', (_err, socket) => { try { socket.destroy(); } catch { /* gone */ } });
  server.on('connection', (sock: Socket) => {
    const peer = (sock.remoteAddress ?? '?').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    // Behind a proxy every client arrives from loopback: the per-peer cap would be one cap for all.
    const peerKey = o.trustProxy === true && isLoopback(peer) ? undefined : limitKey(canonicalAddress(peer));
    if (peerKey !== undefined) {
      const n = (perPeer.get(peerKey) ?? 0) + 1;
      if (n > perPeerConns) { sock.destroy(); return; }
      perPeer.set(peerKey, n);
    }
    if (open.size >= maxConns) {
      // Full: drop the oldest connection that is not being answered, so a fresh client gets in.
      let victim: Socket | undefined;
      for (const s of open) if (!answering.has(s)) { victim = s; break; }
      if (victim) { open.delete(victim); victim.destroy(); log({ event: 'probe.evicted', peer: victim.remoteAddress ?? '?' }); }
    }
    if (open.size >= maxConns) { sock.destroy(); if (peerKey !== undefined) release(peerKey); return; }
    open.add(sock);
    sock.once('close', () => { open.delete(sock); if (peerKey !== undefined) release(peerKey); });
  });
  function release(peerKey: string): void {
    const m = (perPeer.get(peerKey) ?? 1) - 1;
    if (m <= 0) perPeer.delete(peerKey); else perPeer.set(peerKey, m);
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // The accept queue holds as many as the connection cap (the kernel caps it at net.core.somaxconn): with
    // Node's default of 511, a burst of connections overflowed it and the kernel dropped SYNs — a fresh
    // client then waited for its SYN retransmits (1 s, 3 s, 7 s) before the server ever saw it.
    server.listen({ port: listen.port, host: listen.host, backlog: maxConns }, () => {
      server.off('error', reject);
      server.on('error', (err) => log({ event: 'probe.error', error: describeError(err) }));
      const a = server.address() as AddressInfo;
      resolve({
        server,
        address: { host: a.address, port: a.port },
        stats: () => ({ inflight: total, clients: limiter.size, connections: open.size }),
        close: () => new Promise<void>((r) => {
          closing.abort();
          server.close(() => r());
          server.closeAllConnections();
          for (const s of open) s.destroy();
        }),
      });
    });
  });
}
