/**
 * Small loopback servers for the public-IP tests: an HTTP server driven by a handler, and UDP/TCP
 * servers driven by a datagram handler (DNS, STUN). Every server counts what it received and closes
 * every held connection on close().
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface TestHttp { url: string; port: number; hits: number; close(): Promise<void> }

export async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, host = '127.0.0.1'): Promise<TestHttp> {
  const sockets = new Set<Socket>();
  const state = { hits: 0 };
  const server = createServer((req, res) => {
    state.hits++;
    try { handler(req, res); } catch { res.destroy(); }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${h}:${port}`,
    port,
    get hits() { return state.hits; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A server answering `body` with 200 text/plain. */
export function plain(body: string | Buffer, status = 200, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
}

export interface TestUdp { port: number; host: string; received: number; close(): Promise<void> }

/** A UDP server: `reply` returns the datagrams to send back (none = silence). */
export async function udpServer(reply: (msg: Buffer, from: RemoteInfo) => Buffer[] | Buffer | undefined, host = '127.0.0.1'): Promise<TestUdp> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const state = { received: 0 };
  socket.on('message', (msg, rinfo) => {
    state.received++;
    let out: Buffer[] | Buffer | undefined;
    try { out = reply(msg, rinfo); } catch { out = undefined; }
    for (const b of out === undefined ? [] : Array.isArray(out) ? out : [out]) socket.send(b, rinfo.port, rinfo.address);
  });
  socket.on('error', () => { /* test server */ });
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  return {
    port: socket.address().port,
    host,
    get received() { return state.received; },
    close: () => new Promise<void>((r) => { try { socket.close(() => r()); } catch { r(); } }),
  };
}

/** A DNS-over-TCP server on a given port: 2-byte length framing, `reply` per query. */
export async function tcpDnsServer(port: number, reply: (query: Buffer) => Buffer | undefined, host = '127.0.0.1'): Promise<{ queries: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { queries: 0 };
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 2) return;
      const n = buf.readUInt16BE(0);
      if (buf.length < n + 2) return;
      state.queries++;
      const out = reply(buf.subarray(2, n + 2));
      if (!out) return;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length, 0);
      s.write(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((r, j) => { server.once('error', j); server.listen(port, host, () => r()); });
  return {
    get queries() { return state.queries; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/**
 * A hang guard: fails the test with a clear message when `p` has not settled after `ms` (default 20 s).
 * It is never a speed bound (the suite runs on a loaded machine): promptness is asserted through what
 * happened (which timer, which kind of failure), not through how long it took.
 */
export async function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, j) => { timer = setTimeout(() => j(new Error(`did not settle within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
