/**
 * The daemon's HTTP endpoints on `daemon.listen`:
 *   GET /healthz  200 while the process answers
 *   GET /readyz   200 when ready, 503 with the reasons when not (JSON)
 *   GET /metrics  Prometheus text (when metrics are enabled)
 *   GET /         the status page (page.ts), GET /page.js its script, GET /status.json the status
 *                 document (status.ts) — when `status` is given
 *
 * Only requests whose Host is an IP literal, `localhost`, or a name in `allowHosts` (`daemon.allowHosts`)
 * are answered; any other Host gets 421. A web page cannot use DNS rebinding (its own name pointed at
 * 127.0.0.1) to read /metrics or the status from a browser on this host. A request without Host
 * (HTTP/1.0, no browser sends one) is answered.
 *
 * Every answer says `cache-control: no-store` and `x-content-type-options: nosniff`; the page also sends
 * its Content-Security-Policy, `x-frame-options: DENY` and `referrer-policy: no-referrer`.
 *
 * Contract: never throws out of a request handler (a failing metrics collection is a 500 with a short
 * text); every request and idle connection is bounded in time; nothing but GET and HEAD; bodies of
 * requests are ignored. `close()` ends open connections and resolves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Readiness } from './health.js';
import type { ListenAddress } from '../net/listen.js';
import { PAGE_SCRIPT, pageCsp, renderPage } from './page.js';
import { revision, type StatusDocument } from './status.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { createServer } = process.getBuiltinModule('node:http');

export interface ServerOptions {
  listen: ListenAddress;
  readiness(): Readiness;
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** What /status.json and the page at / show. */
  status?(): StatusDocument;
  now?: () => number;
  /** Host names answered besides IP literals and `localhost` (`daemon.allowHosts`). */
  allowHosts?: readonly string[];
}

export interface HealthServer {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export type StartResult = { ok: true; server: HealthServer } | { ok: false; why: string };

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
  res.end(head ? undefined : body);
}

const PAGE_HEADERS = { 'content-security-policy': pageCsp(true), 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cross-origin-resource-policy': 'same-origin' };

const json = (v: unknown) => `${JSON.stringify(v)}\n`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The Host header's name: port and IPv6 brackets off, lower case, no trailing dot; undefined when absent. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const t = host.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  const name = v6 ? v6[1]! : t.replace(/:\d+$/, '');
  return name.replace(/\.$/, '');
}

/** May a request with this Host header be answered? (see the module comment) */
export function hostAllowed(host: string | undefined, allowHosts: readonly string[] = []): boolean {
  const name = hostName(host);
  if (name === undefined) return true;
  if (isIP(name) !== 0 || name === 'localhost') return true;
  return allowHosts.some((a) => a.toLowerCase().replace(/\.$/, '') === name);
}

export async function startServer(o: ServerOptions): Promise<StartResult> {
  const now = o.now ?? Date.now;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (!hostAllowed(req.headers.host, o.allowHosts)) {
      return send(res, 421, 'text/plain; charset=utf-8', 'misdirected request: this Host is not served here — add it to daemon.allowHosts\n', head);
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', head);
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const r = o.readiness();
      return send(res, 200, 'application/json', json({ alive: true, uptimeSeconds: Math.round((now() - r.startedAt) / 1000) }), head);
    }
    if (path === '/readyz') {
      const r = o.readiness();
      return send(res, r.ready ? 200 : 503, 'application/json', json({
        ready: r.ready, reasons: r.reasons, lastCycle: iso(r.lastCycleAt), lastSuccess: iso(r.lastSuccessAt),
      }), head);
    }
    if (path === '/metrics' && o.metrics) {
      const m = await o.metrics();
      return send(res, 200, m.contentType, m.body, head);
    }
    if (o.status && (path === '/' || path === '/index.html')) {
      return send(res, 200, 'text/html; charset=utf-8', renderPage(o.status(), { live: true, now: now() }), head, PAGE_HEADERS);
    }
    if (o.status && path === '/status.json') {
      const doc = o.status();
      return send(res, 200, 'application/json', json({ ...doc, revision: revision(doc) }), head, { 'cross-origin-resource-policy': 'same-origin' });
    }
    if (o.status && path === '/page.js') {
      return send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT, head, { 'cross-origin-resource-policy': 'same-origin' });
    }
    return send(res, 404, 'text/plain; charset=utf-8', `not found: try ${o.status ? '/, /status.json, ' : ''}/healthz, /readyz, /metrics\n`, head);
  };

  const server = createServer((req, res) => {
    req.resume();
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else res.destroy();
    });
  });
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.keepAliveTimeout = 5000;
  server.maxConnections = 64;
  server.maxRequestsPerSocket = 100;

  const bound = await new Promise<{ ok: true } | { ok: false; why: string }>((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (another ddns run?)' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this host' : err.code === 'EACCES' ? 'permission denied' : err.message;
      resolve({ ok: false, why: `cannot listen on ${o.listen.host}:${o.listen.port}: ${why}` });
    };
    server.once('error', onError);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', onError);
      resolve({ ok: true });
    });
  });
  if (!bound.ok) return bound;
  // Errors after listening (rare: EMFILE on accept) must not crash the daemon.
  server.on('error', () => undefined);
  const a = server.address() as AddressInfo;
  return {
    ok: true,
    server: {
      address: { host: a.address, port: a.port },
      close: () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    },
  };
}
