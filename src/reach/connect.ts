/**
 * A bounded TCP connect (and optional first-line read), used by the hairpin test and the probe server.
 * Never throws; resolves by the signal's deadline at the latest.
 */
import { connect, type Socket } from 'node:net';
import { describeError } from '../net/abort.js';

export interface ConnectResult { ok: boolean; message: string; firstLine?: string; ms: number }

export interface ConnectOptions {
  signal: AbortSignal;
  /** Bytes to send once connected (e.g. a nonce line). */
  send?: string;
  /** Wait for the first line the server sends (up to `readMs`). */
  readLine?: boolean;
  readMs?: number;
  localAddress?: string;
}

export function tcpConnect(address: string, port: number, o: ConnectOptions): Promise<ConnectResult> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    let sock: Socket | undefined;
    let done = false;
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<ConnectResult, 'ms'>) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      sock?.destroy();
      resolve({ ...r, ms: ms() });
    };
    const onAbort = () => finish({ ok: false, message: `no connection to ${address}:${port} (${describeError(o.signal.reason)})` });
    if (o.signal.aborted) { onAbort(); return; }
    o.signal.addEventListener('abort', onAbort, { once: true });
    try {
      sock = connect({ host: address, port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    } catch (err) {
      finish({ ok: false, message: describeError(err) });
      return;
    }
    sock.setNoDelay(true);
    sock.on('error', (err) => finish({ ok: false, message: `${address}:${port}: ${describeError(err)}` }));
    sock.on('connect', () => {
      if (o.send !== undefined) sock?.write(o.send);
      if (!o.readLine) { finish({ ok: true, message: `connected to ${address}:${port}` }); return; }
      timer = setTimeout(() => finish({ ok: true, message: `connected to ${address}:${port}; it sent no line`, firstLine: buf.slice(0, 256) }), o.readMs ?? 1000);
    });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0 || buf.length > 1024) finish({ ok: true, message: `connected to ${address}:${port}`, firstLine: buf.slice(0, nl >= 0 ? nl : 256).replace(/\r$/, '') });
    });
    sock.on('end', () => finish({ ok: true, message: `connected to ${address}:${port}; it closed`, firstLine: buf.slice(0, 256).replace(/\r?\n?$/, '') }));
  });
}
