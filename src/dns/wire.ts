/**
 * One DNS question to one server, over UDP (falling back to TCP when the answer is truncated), with
 * `dns-packet` for the wire format.
 *
 * Contract: `queryServer` never rejects and never hangs: it resolves `{ ok: false, why }` on timeout,
 * abort, socket error, a reply with another id or question, or bytes that do not decode. Replies are
 * read from a connected socket (the kernel drops datagrams from other sources). Records come back
 * flattened to `{ name, type, ttl, data }` with `data` a string (SOA: `mname rname serial`).
 */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP, Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { describeError, withTimeout } from '../net/abort.js';

export interface Endpoint { host: string; port: number }

export type QueryType = 'A' | 'AAAA' | 'NS' | 'SOA' | 'TXT' | 'CNAME';

export interface DnsRecord {
  /** Lower case, no trailing dot. */
  name: string;
  type: string;
  ttl: number;
  data: string;
}

export interface DnsResponse {
  rcode: string;
  /** Authoritative answer flag. */
  aa: boolean;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  server: Endpoint;
  transport: 'udp' | 'tcp';
  ms: number;
}

export type QueryResult = { ok: true; response: DnsResponse } | { ok: false; why: string; server: Endpoint };

export interface QueryOptions {
  signal?: AbortSignal;
  /** Per query (each transport attempt), default 2000 ms. */
  timeoutMs?: number;
  /** Set RD (ask a resolver to recurse). Default true; authoritative queries send false. */
  recursion?: boolean;
  /** Skip UDP. */
  tcp?: boolean;
}

const MAX_TCP = 65535 + 2;

export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export function formatEndpoint(e: Endpoint): string {
  return isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

function flatten(list: dnsPacket.Answer[] | undefined): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const a of list ?? []) {
    if (a.type === 'OPT') continue;
    let data: string;
    const d = (a as { data?: unknown }).data;
    if (typeof d === 'string') data = d;
    else if (a.type === 'SOA' && typeof d === 'object' && d !== null) {
      const soa = d as dnsPacket.SoaData;
      data = `${normalizeName(soa.mname)} ${normalizeName(soa.rname)} ${soa.serial ?? 0}`;
    } else if (a.type === 'TXT') {
      const parts = Array.isArray(d) ? d : [d];
      data = parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
    } else if (Buffer.isBuffer(d)) data = d.toString('hex');
    else continue;
    out.push({ name: normalizeName(a.name), type: a.type, ttl: (a as { ttl?: number }).ttl ?? 0, data: a.type === 'NS' || a.type === 'CNAME' ? normalizeName(data) : data });
  }
  return out;
}

/** Decodes and checks a reply against our question. */
export function parseReply(buf: Buffer, id: number, name: string, type: QueryType): { ok: true; packet: dnsPacket.DecodedPacket } | { ok: false; why: string } {
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return { ok: false, why: `undecodable reply (${describeError(err)})` };
  }
  if (packet.type !== 'response' || packet.id !== id) return { ok: false, why: 'reply with another id' };
  // The question section is what ties a reply to our query beyond the 16-bit id: a reply without it
  // (or with more than ours) cannot be matched, so it is dropped like a reply to another question.
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || !q) return { ok: false, why: `reply with ${questions.length} questions (ours was 1)` };
  if (normalizeName(q.name) !== normalizeName(name) || q.type !== type) return { ok: false, why: 'reply to another question' };
  return { ok: true, packet };
}

/**
 * One settlement for a socket query: the first of reply, error or abort wins, and `cleanup` (close the
 * socket) runs exactly once. `done()` tells late callbacks that the outcome is already decided.
 */
function settleOnce<T>(signal: AbortSignal, cleanup: () => void, resolve: (v: T) => void, reject: (e: unknown) => void):
  { finish: (err: unknown, value?: T) => void; done: () => boolean } {
  let settled = false;
  const finish = (err: unknown, value?: T): void => {
    if (settled) return;
    settled = true;
    signal.removeEventListener('abort', onAbort);
    cleanup();
    if (value !== undefined) resolve(value);
    else reject(err);
  };
  const onAbort = (): void => finish(signal.reason);
  if (signal.aborted) finish(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  return { finish, done: () => settled };
}

function udpQuery(server: Endpoint, query: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const { finish, done } = settleOnce<Buffer>(signal, () => { try { sock.close(); } catch { /* already closed */ } }, resolve, reject);
    if (done()) return;
    sock.on('error', (err) => finish(err));
    sock.on('message', (msg) => finish(undefined, msg));
    // A failed connect (no route: ENETUNREACH) comes to this callback, not to 'error', and leaves the
    // socket unconnected; it is the answer.
    sock.connect(server.port, server.host, ((err?: Error) => {
      if (err) return finish(err);
      // The socket may have been closed (abort, error) before it connected: sending then would throw.
      if (done()) return;
      try {
        sock.send(query, (err) => { if (err) finish(err); });
      } catch (err) {
        finish(err);
      }
    }) as () => void);
  });
}

function tcpQuery(server: Endpoint, query: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const chunks: Buffer[] = [];
    let size = 0;
    const { finish, done } = settleOnce<Buffer>(signal, () => sock.destroy(), resolve, reject);
    if (done()) return;
    sock.on('error', (err) => finish(err));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > MAX_TCP) return finish(new Error('reply too large'));
      const all = Buffer.concat(chunks);
      if (all.length >= 2) {
        const len = all.readUInt16BE(0);
        if (all.length >= len + 2) finish(undefined, all.subarray(2, len + 2));
      }
    });
    sock.on('end', () => finish(new Error('connection closed before a full reply')));
    sock.connect(server.port, server.host, () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
  });
}

/** Asks `server` one question. See the module contract. */
export async function queryServer(server: Endpoint, name: string, type: QueryType, opts: QueryOptions = {}): Promise<QueryResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 2000;
  const recursion = opts.recursion ?? true;
  const id = randomInt(0, 65536);
  const qname = normalizeName(name);
  const query = dnsPacket.encode({ type: 'query', id, flags: recursion ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type, name: qname, class: 'IN' }] });
  for (const transport of opts.tcp ? (['tcp'] as const) : (['udp', 'tcp'] as const)) {
    const signal = withTimeout(timeoutMs, opts.signal);
    let buf: Buffer;
    try {
      buf = transport === 'udp' ? await udpQuery(server, query, signal) : await tcpQuery(server, query, signal);
    } catch (err) {
      const why = signal.aborted && !opts.signal?.aborted ? `no answer within ${timeoutMs} ms` : describeError(err);
      return { ok: false, why: `${formatEndpoint(server)} (${transport}): ${why}`, server };
    }
    const parsed = parseReply(buf, id, qname, type);
    if (!parsed.ok) return { ok: false, why: `${formatEndpoint(server)} (${transport}): ${parsed.why}`, server };
    const p = parsed.packet;
    if (p.flag_tc && transport === 'udp') continue;
    return {
      ok: true,
      response: {
        rcode: (p as { rcode?: string }).rcode ?? 'NOERROR',
        aa: p.flag_aa,
        answers: flatten(p.answers),
        authorities: flatten(p.authorities),
        additionals: flatten(p.additionals),
        server,
        transport,
        ms: Math.round(performance.now() - started),
      },
    };
  }
  return { ok: false, why: `${formatEndpoint(server)}: truncated over TCP`, server };
}

export type ExchangeResult = { ok: true; reply: Buffer; transport: 'udp' | 'tcp'; ms: number } | { ok: false; why: string };

/**
 * Sends a message built elsewhere (an RFC 2136 update) and returns the raw reply with the same id: UDP
 * first, TCP when the reply is truncated (or at once with `tcp`). Same never-reject, never-hang rules as
 * `queryServer`; the caller decodes and checks the reply.
 */
export async function exchange(server: Endpoint, message: Buffer, opts: Omit<QueryOptions, 'recursion'> = {}): Promise<ExchangeResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 2000;
  const id = message.readUInt16BE(0);
  for (const transport of opts.tcp ? (['tcp'] as const) : (['udp', 'tcp'] as const)) {
    const signal = withTimeout(timeoutMs, opts.signal);
    let buf: Buffer;
    try {
      buf = transport === 'udp' ? await udpQuery(server, message, signal) : await tcpQuery(server, message, signal);
    } catch (err) {
      const why = signal.aborted && !opts.signal?.aborted ? `no answer within ${timeoutMs} ms` : describeError(err);
      return { ok: false, why: `${formatEndpoint(server)} (${transport}): ${why}` };
    }
    if (buf.length < 12 || buf.readUInt16BE(0) !== id) return { ok: false, why: `${formatEndpoint(server)} (${transport}): reply with another id` };
    if ((buf.readUInt16BE(2) & 0x0200) !== 0 && transport === 'udp') continue;
    return { ok: true, reply: buf, transport, ms: Math.round(performance.now() - started) };
  }
  return { ok: false, why: `${formatEndpoint(server)}: truncated over TCP` };
}
