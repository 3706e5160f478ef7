/**
 * `ddns probe serve`: the self-hostable reachability probe (HTTP, or HTTPS with its own certificate;
 * behind a TLS proxy with `trustProxy`).
 *
 * Contract:
 * - It connects ONLY to the caller's own source address (the socket's peer; with `trustProxy`, the last
 *   X-Forwarded-For hop, and only when the peer is loopback). No request field names a target; a
 *   hostname is only resolved, and the check refused unless it resolves to that same address — so the
 *   probe can never be used to scan anyone else.
 * - With a token, every endpoint wants `Authorization: Bearer <token>`, compared in constant time.
 * - Per-client rate limit (token bucket), a per-client and a global cap on checks in flight and on open
 *   connections (16 per peer, 512 in all), bounded
 *   connect/read timeouts, header/request timeouts, 4 KiB request bodies. Excess is refused (429/503),
 *   never queued without bound.
 * - Nothing a client sends can throw out of a handler; the server answers JSON for every request.
 *
 * Endpoints: `POST /v1/reach` (types.ts), echoip's `GET /port/N`, `GET /` and `GET /ip` (the caller's
 * address), `GET /healthz`.
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { Resolver } from 'node:dns/promises';
import { isIP, type AddressInfo } from 'node:net';
import { canonicalAddress, isLoopback } from '../net/address.js';
import { describeError } from '../net/abort.js';
import { tcpBanner, tcpNonce, tcpReachable, udpNonce } from './connectback.js';
import { RateLimiter, type RateLimitOptions } from './ratelimit.js';
import { bearerMatches } from './token.js';
import { parseProbeRequest, type HostnameView, type ProbeRequest, type ProbeResponse } from './types.js';

export interface ProbeServerOptions {
  token?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Take the caller from X-Forwarded-For (last hop) when the peer is loopback (a local TLS proxy). */
  trustProxy?: boolean;
  rate?: RateLimitOptions;
  /** Checks in flight, in all (default 32) and per client (default 4). */
  maxConcurrent?: number;
  perClientConcurrent?: number;
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Resolves a hostname's addresses of a family (default: the system resolver, 2 s). */
  resolve?: (name: string, family: 4 | 6, signal: AbortSignal) => Promise<string[]>;
  /** Structured events (`probe.request`, `probe.refused`); never given the token. */
  log?: (event: Record<string, unknown>) => void;
}

export interface ProbeServer {
  server: Server;
  address: { host: string; port: number };
  /** Checks in flight now, and clients with a rate-limit bucket (both bounded). */
  stats(): { inflight: number; clients: number };
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

function readBody(req: IncomingMessage, signal: AbortSignal): Promise<{ ok: true; text: string } | { ok: false; status: number; message: string }> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const done = (r: { ok: true; text: string } | { ok: false; status: number; message: string }) => { signal.removeEventListener('abort', onAbort); resolve(r); };
    const onAbort = () => done({ ok: false, status: 408, message: 'request body too slow' });
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_MAX) { req.removeAllListeners('data'); req.resume(); done({ ok: false, status: 413, message: `body over ${BODY_MAX} bytes` }); return; }
      chunks.push(c);
    });
    req.on('end', () => done({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => done({ ok: false, status: 400, message: 'request aborted' }));
  });
}

/** The caller's address: the peer, or behind a trusted local proxy the last X-Forwarded-For hop. */
export function callerAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (isIP(peer) === 0) return undefined;
  if (trustProxy && isLoopback(peer)) {
    const xff = req.headers['x-forwarded-for'];
    const last = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map((s) => s.trim()).filter(Boolean).pop();
    const hop = last?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    if (hop && isIP(hop) !== 0) return canonicalAddress(hop);
  }
  return canonicalAddress(peer);
}

export function startProbeServer(listen: { host: string; port: number }, o: ProbeServerOptions = {}): Promise<ProbeServer> {
  const limiter = new RateLimiter(o.rate ?? { burst: 20, perMinute: 30 });
  const maxAll = o.maxConcurrent ?? 32;
  const maxPer = o.perClientConcurrent ?? 4;
  const inflight = new Map<string, number>();
  let total = 0;
  const connectTimeoutMs = o.connectTimeoutMs ?? 2000;
  const readTimeoutMs = o.readTimeoutMs ?? 1500;
  const resolveName = o.resolve ?? systemResolve;
  const log = o.log ?? (() => {});
  const closing = new AbortController();

  async function hostnameView(name: string, caller: string, family: 4 | 6): Promise<HostnameView> {
    try {
      const addrs = (await resolveName(name, family, AbortSignal.any([closing.signal, AbortSignal.timeout(2500)]))).filter((a) => isIP(a) !== 0).map(canonicalAddress).slice(0, 16);
      return { name, addresses: addrs, matches: addrs.includes(caller) };
    } catch (err) {
      return { name, addresses: [], matches: false, error: describeError(err) };
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
        const why = hostname.error ? `could not resolve ${r.hostname}: ${hostname.error}` : `${r.hostname} resolves to ${hostname.addresses.join(', ') || 'nothing'}, not to the caller ${caller}`;
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
    const caller = callerAddress(req, o.trustProxy === true);
    if (!caller) { send(res, 400, { error: 'no caller address' }); return; }
    const url = new URL(req.url ?? '/', 'http://probe');
    const path = url.pathname;
    if (path === '/healthz') { send(res, 200, { ok: true }); return; }
    if (o.token !== undefined && !bearerMatches(req.headers.authorization, o.token)) {
      log({ event: 'probe.refused', reason: 'token', caller });
      send(res, 401, { error: 'unauthorized: send Authorization: Bearer <probe token>' }, { 'www-authenticate': 'Bearer' });
      return;
    }
    if ((path === '/' || path === '/ip') && req.method === 'GET') { send(res, 200, { ip: caller }); return; }
    const portMatch = /^\/port\/(\d{1,5})$/.exec(path);
    const isReach = path === '/v1/reach';
    if (!portMatch && !isReach) { send(res, 404, { error: 'not found: POST /v1/reach or GET /port/N' }); return; }
    if (isReach && req.method !== 'POST') { send(res, 405, { error: 'POST /v1/reach' }, { allow: 'POST' }); return; }
    if (portMatch && req.method !== 'GET') { send(res, 405, { error: 'GET /port/N' }, { allow: 'GET' }); return; }

    const wait = limiter.take(caller);
    if (wait > 0) { log({ event: 'probe.refused', reason: 'rate', caller }); send(res, 429, { error: 'rate limited', retryAfter: wait }, { 'retry-after': String(wait) }); return; }
    const mine = inflight.get(caller) ?? 0;
    if (mine >= maxPer || total >= maxAll) { send(res, 503, { error: 'busy: too many checks in flight' }, { 'retry-after': '1' }); return; }
    inflight.set(caller, mine + 1);
    total++;
    try {
      if (portMatch) {
        const port = Number(portMatch[1]);
        if (port < 1 || port > 65535) { send(res, 400, { status: 400, error: `Invalid port: ${port}` }); return; }
        const reachable = await tcpReachable(caller, port, { timeoutMs: connectTimeoutMs, signal: closing.signal });
        log({ event: 'probe.request', api: 'port', caller, port, reachable });
        send(res, 200, { ip: caller, port, reachable });
        return;
      }
      const body = await readBody(req, AbortSignal.timeout(5000));
      if (!body.ok) {
        // Answer, then drop the connection: the rest of an oversize or slow body is never read.
        res.on('finish', () => req.socket.destroy());
        send(res, body.status, { error: body.message }, { connection: 'close' });
        return;
      }
      let doc: unknown;
      try { doc = JSON.parse(body.text); } catch { send(res, 400, { error: 'body is not JSON' }); return; }
      const p = parseProbeRequest(doc);
      if (!p.ok) { send(res, 400, { error: p.message }); return; }
      const out = await reach(caller, p.req);
      log({ event: 'probe.request', api: 'reach', caller, port: p.req.port, protocol: p.req.protocol, mode: p.req.mode, reachable: out.body.reachable });
      send(res, out.status, out.body);
    } finally {
      const n = (inflight.get(caller) ?? 1) - 1;
      if (n <= 0) inflight.delete(caller); else inflight.set(caller, n);
      total--;
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log({ event: 'probe.error', error: describeError(err) });
      send(res, 500, { error: 'internal error' });
    });
  };
  const server: Server = o.tls ? createHttps({ cert: o.tls.cert, key: o.tls.key }, onRequest) : createHttp(onRequest);
  server.headersTimeout = 5000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 2000;
  server.maxHeadersCount = 50;
  server.maxConnections = 512;
  server.on('clientError', (_err, socket) => { try { socket.destroy(); } catch { /* gone */ } });
  // At most 16 open connections per peer: one client cannot hold the whole connection budget.
  const conns = new Map<string, number>();
  server.on('connection', (sock) => {
    const peer = sock.remoteAddress ?? '?';
    const n = (conns.get(peer) ?? 0) + 1;
    if (n > 16) { sock.destroy(); return; }
    conns.set(peer, n);
    sock.once('close', () => { const m = (conns.get(peer) ?? 1) - 1; if (m <= 0) conns.delete(peer); else conns.set(peer, m); });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      server.on('error', (err) => log({ event: 'probe.error', error: describeError(err) }));
      const a = server.address() as AddressInfo;
      resolve({
        server,
        address: { host: a.address, port: a.port },
        stats: () => ({ inflight: total, clients: limiter.size }),
        close: () => new Promise<void>((r) => {
          closing.abort();
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}
