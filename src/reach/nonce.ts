/**
 * The short-lived listener `ddns check` opens on a forward's free internal port, so the probe's nonce
 * must arrive *here* (not at some other host the router forwards to). TCP: a connection that sends
 * `DDNS-NONCE <nonce>` gets `DDNS-ACK <nonce>` back; anything else is dropped. UDP: a datagram carrying
 * the nonce is echoed. With `acceptAny` (echoip mode) any TCP connection counts as an arrival.
 *
 * Contract: `openNonceListener` never throws; a port in use is `busy` (a service listens: compare banners
 * instead). `close()` releases the port and every connection. Reads are capped at 256 bytes / 2 s.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { ACK_PREFIX, NONCE_PREFIX } from './connectback.js';

export interface Arrival { from: string; at: number }

export type ListenerResult =
  | { ok: true; arrivals: Arrival[]; /** Resolves at the first arrival, or undefined when `ms` pass. */ waitFor(ms: number): Promise<Arrival | undefined>; close(): Promise<void> }
  | { ok: false; busy: boolean; message: string };

function bindTcp(port: number, host: string, onSocket: (s: Socket) => void): Promise<{ server: Server } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const server = createServer(onSocket);
    server.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    server.listen({ port, host, ipv6Only: false, exclusive: true }, () => resolve({ server }));
  });
}

function bindUdp(port: number, type: 'udp4' | 'udp6'): Promise<{ sock: UdpSocket } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const sock = createSocket({ type, ipv6Only: false });
    sock.once('error', (error: NodeJS.ErrnoException) => { try { sock.close(); } catch { /* closed */ } resolve({ error }); });
    sock.bind({ port, address: type === 'udp6' ? '::' : '0.0.0.0', exclusive: true }, () => resolve({ sock }));
  });
}

const clean = (a: string | undefined) => (a ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

export async function openNonceListener(protocol: 'tcp' | 'udp', port: number, nonce: string, o: { acceptAny?: boolean } = {}): Promise<ListenerResult> {
  const arrivals: Arrival[] = [];
  const waiters = new Set<(a: Arrival) => void>();
  const arrive = (from: string) => {
    const a = { from: clean(from), at: Date.now() };
    arrivals.push(a);
    for (const w of waiters) w(a);
    waiters.clear();
  };
  const waitFor = (ms: number): Promise<Arrival | undefined> => {
    if (arrivals[0]) return Promise.resolve(arrivals[0]);
    return new Promise((resolve) => {
      const t = setTimeout(() => { waiters.delete(w); resolve(undefined); }, ms);
      const w = (a: Arrival) => { clearTimeout(t); resolve(a); };
      waiters.add(w);
    });
  };
  const line = `${NONCE_PREFIX} ${nonce}`;
  const failure = (e: NodeJS.ErrnoException): ListenerResult => ({
    ok: false, busy: e.code === 'EADDRINUSE',
    message: e.code === 'EADDRINUSE' ? `a service already listens on ${protocol.toUpperCase()} ${port}`
      : e.code === 'EACCES' ? `cannot listen on ${protocol.toUpperCase()} ${port} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`
        : `cannot listen on ${protocol.toUpperCase()} ${port}: ${e.message}`,
  });

  if (protocol === 'tcp') {
    const sockets = new Set<Socket>();
    const onSocket = (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
      s.setTimeout(2000, () => s.destroy());
      if (o.acceptAny) { arrive(s.remoteAddress ?? ''); s.end(); return; }
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        if (buf.length > 256) { s.destroy(); return; }
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        if (buf.slice(0, nl).replace(/\r$/, '') === line) { arrive(s.remoteAddress ?? ''); s.end(`${ACK_PREFIX} ${nonce}\r\n`); } else s.destroy();
      });
    };
    let b = await bindTcp(port, '::', onSocket);
    if ('error' in b && b.error.code === 'EAFNOSUPPORT') b = await bindTcp(port, '0.0.0.0', onSocket);
    if ('error' in b) return failure(b.error);
    const server = b.server;
    server.on('error', () => { /* after listen: ignored, close() still works */ });
    return {
      ok: true, arrivals, waitFor,
      close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
    };
  }

  let u = await bindUdp(port, 'udp6');
  if ('error' in u && u.error.code === 'EAFNOSUPPORT') u = await bindUdp(port, 'udp4');
  if ('error' in u) return failure(u.error);
  const sock = u.sock;
  sock.on('error', () => { /* ignored; close() still works */ });
  sock.on('message', (msg, rinfo) => {
    if (msg.length > 256 || msg.toString('utf8') !== line) return;
    arrive(rinfo.address);
    sock.send(msg, rinfo.port, rinfo.address, () => { /* best effort */ });
  });
  return {
    ok: true, arrivals, waitFor,
    close: () => new Promise<void>((r) => { try { sock.close(() => r()); } catch { r(); } }),
  };
}
