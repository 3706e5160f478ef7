/**
 * One request/response exchange over UDP with retransmissions — the transport under NAT-PMP, PCP,
 * the DNS "whoami" source and STUN (a shared net helper: no protocol knowledge here).
 *
 * Contract: the socket is `connect()`ed to gateway:port (the kernel drops datagrams from anyone else)
 * and every datagram is still handed to `accept` with its sender, which must check source, length and
 * fields before reading; `accept` returning undefined means "not our answer, keep waiting". Sends follow
 * `delays` (ms between tries) until an answer, the budget, or the signal. An ICMP port-unreachable
 * ends the exchange at once as `refused` (nothing listens there). Never throws; always closes the socket.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import { describeError } from './abort.js';

export type UdpResult<T> =
  | { ok: true; value: T; ms: number; tries: number }
  | { ok: false; kind: 'timeout' | 'refused' | 'error'; why: string; ms: number; tries: number; ignored: number };

export interface UdpExchangeOptions<T> {
  gateway: string;
  port: number;
  /** Local address to bind (this host's address facing the gateway); default: any. */
  bindAddress?: string;
  signal?: AbortSignal;
  /** Waits between tries: the first send is at 0, the next after delays[0], … ; the last entry is the final wait. */
  delays: readonly number[];
  /** Parses a datagram; undefined = not an answer to us (ignored). Must not throw (it is guarded anyway). */
  accept: (msg: Buffer, from: RemoteInfo) => T | undefined;
}

/** RFC 6886 schedule: 250 ms, doubling, `tries` sends. Cut short by `budgetMs` (total wait). */
export function doublingDelays(initialMs = 250, tries = 9, budgetMs = Infinity): number[] {
  const out: number[] = [];
  let total = 0;
  for (let i = 0, d = initialMs; i < tries; i++, d *= 2) {
    if (total + d > budgetMs) { if (budgetMs - total > 0) out.push(budgetMs - total); break; }
    out.push(d);
    total += d;
  }
  return out;
}

export function udpExchange<T>(request: Buffer, o: UdpExchangeOptions<T>): Promise<UdpResult<T>> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = createSocket({ type: isIP(o.gateway) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    let tries = 0;
    let ignored = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (r: { ok: true; value: T } | { ok: false; kind: 'timeout' | 'refused' | 'error'; why: string }): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      try { socket.close(); } catch { /* closed */ }
      const ms = performance.now() - started;
      resolve(r.ok ? { ...r, ms, tries } : { ...r, ms, tries, ignored });
    };
    const onAbort = (): void => finish({ ok: false, kind: 'timeout', why: 'aborted' });
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ECONNREFUSED'
        ? { ok: false, kind: 'refused', why: `nothing answers on ${o.gateway}:${o.port} (port unreachable)` }
        : { ok: false, kind: 'error', why: err.message });
    });
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      let value: T | undefined;
      try { value = o.accept(msg, rinfo); } catch { value = undefined; }
      if (value === undefined) { ignored++; return; }
      finish({ ok: true, value });
    });
    const sendNext = (): void => {
      if (done) return;
      const wait = o.delays[tries];
      tries++;
      socket.send(request, (err) => { if (err) finish({ ok: false, kind: err.message.includes('ECONNREFUSED') ? 'refused' : 'error', why: err.message }); });
      if (wait === undefined) return finish({ ok: false, kind: 'timeout', why: 'no answer' });
      timer = setTimeout(() => {
        if (tries >= o.delays.length) finish({ ok: false, kind: 'timeout', why: `no answer from ${o.gateway}:${o.port} after ${tries} tries` });
        else sendNext();
      }, wait);
    };
    const onBound = (): void => {
      if (done) return;
      // A failed connect (no route to the gateway: ENETUNREACH) is handed to this callback, not to 'error',
      // and the socket stays unconnected: sending then would throw outside any handler.
      socket.connect(o.port, o.gateway, ((err?: Error) => {
        if (err) finish({ ok: false, kind: 'error', why: `cannot reach ${o.gateway}:${o.port}: ${describeError(err)}` });
        else sendNext();
      }) as () => void);
    };
    try {
      socket.bind({ port: 0, exclusive: true, ...(o.bindAddress ? { address: o.bindAddress } : {}) }, onBound);
    } catch (err) {
      finish({ ok: false, kind: 'error', why: String(err) });
    }
  });
}
