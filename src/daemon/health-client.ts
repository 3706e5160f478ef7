/**
 * The client side of `ddns health`: where the daemon listens (DDNS_DAEMON_LISTEN, else the config's
 * daemon.listen), and one bounded GET of /readyz.
 *
 * Contract: never throws; every failure (no daemon, timeout, garbage) is `ready: false` with a reason.
 */
import { baseUrl, connectAddress, parseListen } from '../net/listen.js';

// node:http/https through process.getBuiltinModule, not an ESM import: the import's module facade reads the lazy
// WebSocket/MessageEvent getters and so loads Node's bundled undici (~5 MiB RSS and 50–130 ms at start, measured).
const { request } = process.getBuiltinModule('node:http');

export interface HealthAnswer {
  ready: boolean;
  reasons: string[];
  status: number | null;
}

export async function listenFromEnvOrConfig(configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: true; url: string } | { ok: false; why: string }> {
  let listen = env.DDNS_DAEMON_LISTEN;
  if (!listen) {
    try {
      const { loadConfig } = await import('../config/load.js');
      listen = (await loadConfig({ file: configFile, env })).config.daemon.listen;
    } catch (err) {
      return { ok: false, why: `cannot find the daemon's address: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  const a = parseListen(listen);
  if (!a) return { ok: false, why: `daemon.listen "${listen}" is not HOST:PORT` };
  return { ok: true, url: baseUrl(connectAddress(a)) };
}

export function checkHealth(base: string, timeoutMs: number): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL('/readyz', base);
    } catch {
      return resolve({ ready: false, reasons: [`"${base}" is not a URL`], status: null });
    }
    const fail = (why: string) => resolve({ ready: false, reasons: [why], status: null });
    const req = request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { if (body.length < 65_536) body += c; });
      res.on('error', () => fail('the answer broke off'));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        let reasons: string[] = [];
        try {
          const doc: unknown = JSON.parse(body);
          const r = (doc as { reasons?: unknown }).reasons;
          if (Array.isArray(r)) reasons = r.filter((x): x is string => typeof x === 'string');
        } catch { /* not JSON: the status decides */ }
        if (status !== 200 && reasons.length === 0) reasons = [`/readyz answered HTTP ${status}`];
        resolve({ ready: status === 200, reasons: status === 200 ? [] : reasons, status });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      fail(err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer from ${url.host} within ${timeoutMs} ms` : err.code === 'ECONNREFUSED' ? `nothing listens on ${url.host} (is ddns run up?)` : err.message);
    });
    req.end();
  });
}
