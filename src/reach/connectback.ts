/**
 * What the probe does to the caller: bounded TCP and UDP exchanges with one address. The address is
 * always the caller's own (server.ts decides that); nothing here takes a target from a request body.
 * Never throws.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { tcpConnect } from './connect.js';
import { printable } from '../net/text.js';

export const NONCE_PREFIX = 'DDNS-NONCE';
export const ACK_PREFIX = 'DDNS-ACK';

export interface Exchange { reachable: boolean; echoed?: boolean; banner?: string; error?: string }


export async function tcpNonce(ip: string, port: number, nonce: string, o: { timeoutMs: number; readMs: number; signal?: AbortSignal }): Promise<Exchange> {
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs + o.readMs)]) : AbortSignal.timeout(o.timeoutMs + o.readMs);
  const r = await tcpConnect(ip, port, { signal, send: `${NONCE_PREFIX} ${nonce}\r\n`, readLine: true, readMs: o.readMs });
  if (!r.ok) return { reachable: false, error: r.message };
  return { reachable: true, echoed: r.firstLine === `${ACK_PREFIX} ${nonce}` };
}

export async function tcpBanner(ip: string, port: number, o: { timeoutMs: number; readMs: number; signal?: AbortSignal }): Promise<Exchange> {
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs + o.readMs)]) : AbortSignal.timeout(o.timeoutMs + o.readMs);
  const r = await tcpConnect(ip, port, { signal, readLine: true, readMs: o.readMs });
  if (!r.ok) return { reachable: false, error: r.message };
  return { reachable: true, banner: printable(r.firstLine ?? '', 256) };
}

export async function tcpReachable(ip: string, port: number, o: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
  const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]) : AbortSignal.timeout(o.timeoutMs);
  return (await tcpConnect(ip, port, { signal })).ok;
}

/** Sends the nonce datagram up to 3 times; echoed when a datagram carrying it comes back from ip:port. */
export function udpNonce(ip: string, port: number, nonce: string, o: { timeoutMs: number; signal?: AbortSignal }): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = createSocket(isIP(ip) === 6 ? 'udp6' : 'udp4');
    const payload = Buffer.from(`${NONCE_PREFIX} ${nonce}`);
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (x: Exchange) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      try { sock.close(); } catch { /* closed */ }
      resolve(x);
    };
    const onAbort = () => finish({ reachable: false, echoed: false, error: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) => finish({ reachable: false, echoed: false, error: err.message }));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address.replace(/^::ffff:/, '') !== ip || rinfo.port !== port) return;
      if (msg.length <= 512 && msg.toString('utf8').includes(nonce)) finish({ reachable: true, echoed: true });
    });
    const send = () => { if (!done) sock.send(payload, port, ip, () => { /* errors arrive as 'error' */ }); };
    sock.bind(0, () => {
      for (const at of [0, Math.round(o.timeoutMs / 4), Math.round(o.timeoutMs / 2)]) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => finish({ reachable: false, echoed: false, error: 'no datagram came back' }), o.timeoutMs));
    });
  });
}
