/**
 * The daemon's HTTP endpoints on `daemon.listen`:
 *   GET /healthz  200 while the process answers
 *   GET /readyz   200 when ready, 503 with the reasons when not (JSON)
 *   GET /metrics  Prometheus text (when metrics are enabled)
 *
 * Contract: never throws out of a request handler (a failing metrics collection is a 500 with a short
 * text); every request and idle connection is bounded in time; nothing but GET and HEAD; bodies of
 * requests are ignored. `close()` ends open connections and resolves.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readiness } from './health.js';
import type { ListenAddress } from './listen.js';

export interface ServerOptions {
  listen: ListenAddress;
  readiness(): Readiness;
  metrics?(): Promise<{ contentType: string; body: string }>;
  now?: () => number;
}

export interface HealthServer {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export type StartResult = { ok: true; server: HealthServer } | { ok: false; message: string };

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

const json = (v: unknown) => `${JSON.stringify(v)}\n`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function startServer(o: ServerOptions): Promise<StartResult> {
  const now = o.now ?? Date.now;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
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
    return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz, /metrics\n', head);
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

  const bound = await new Promise<{ ok: true } | { ok: false; message: string }>((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (another ddns run?)' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this host' : err.code === 'EACCES' ? 'permission denied' : err.message;
      resolve({ ok: false, message: `cannot listen on ${o.listen.host}:${o.listen.port}: ${why}` });
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
