/**
 * DNS "whoami" source: ask a server that answers with the address the query came from —
 * OpenDNS `myip.opendns.com` A/AAAA at resolver1.opendns.com, Google `o-o.myaddr.l.google.com` TXT at
 * ns1.google.com, Cloudflare `whoami.cloudflare` CH TXT at one.one.one.one.
 *
 * One query over UDP (retransmitted within the timeout) from a socket of the asked family to the server
 * resolved for that family; a truncated reply is asked again over TCP. A reply counts only when its id,
 * QR bit and question match ours. The answer must hold exactly one address (TXT strings that are not
 * addresses, like Google's `edns0-client-subnet …`, are skipped).
 */
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet, type RecordClass } from 'dns-packet';
import type { Family } from '../../net/address.js';
import { withTimeout } from '../../net/abort.js';
import { doublingDelays, udpExchange } from '../../net/udp.js';
import { evidenceOf, failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { parseAddressList } from '../validate.js';
import { parseEndpoint, resolveFor } from './resolve.js';

export type DnsQtype = 'A' | 'AAAA' | 'TXT';
export const DNS_TCP_MAX_BYTES = 64 * 1024;

export interface DnsSourceOptions {
  server: string;
  name: string;
  qtype: DnsQtype;
  qclass: 'IN' | 'CH';
  operator: string;
  families: readonly Family[];
  timeoutMs: number;
  id?: string;
}

const norm = (n: string): string => n.toLowerCase().replace(/\.$/, '');

/** Builds the query packet. Pure. */
export function encodeQuery(id: number, name: string, qtype: DnsQtype, qclass: RecordClass): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: qtype, name, class: qclass }] });
}

/** Decodes a reply and checks it answers our query; undefined when it is not (or not decodable). Pure. */
export function matchReply(buf: Buffer, id: number, name: string, qtype: DnsQtype): DecodedPacket | undefined {
  let p: DecodedPacket;
  try { p = dnsPacket.decode(buf); } catch { return undefined; }
  if (p.id !== id || !p.flag_qr) return undefined;
  const q = p.questions?.[0];
  if (!q || p.questions?.length !== 1 || norm(q.name) !== norm(name) || q.type !== qtype) return undefined;
  return p;
}

/** The address-like strings of the answers of type `qtype` (TXT: each record's strings joined). Pure. */
export function answerStrings(p: Packet, qtype: DnsQtype): string[] {
  const out: string[] = [];
  for (const a of p.answers ?? []) {
    if (a.type !== qtype) continue;
    if (a.type === 'A' || a.type === 'AAAA') { if (typeof a.data === 'string') out.push(a.data); continue; }
    if (a.type === 'TXT') {
      const parts = Array.isArray(a.data) ? a.data : [a.data];
      out.push(parts.map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('utf8'))).join(''));
    }
  }
  return out;
}

function rcodeOf(p: Packet): string {
  const r = (p as { rcode?: unknown }).rcode;
  return typeof r === 'string' ? r : 'NOERROR';
}

/** One DNS query over TCP (2-byte length prefix), reply capped; never throws. */
export function tcpQuery(host: string, port: number, query: Buffer, signal: AbortSignal): Promise<{ ok: true; reply: Buffer } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ ok: false, why: 'aborted' });
    const sock = connect({ host, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: { ok: true; reply: Buffer } | { ok: false; why: string }): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, why: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) => finish({ ok: false, why: `TCP: ${err.message}` }));
    sock.on('close', () => finish({ ok: false, why: 'TCP: connection closed before a full reply' }));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > DNS_TCP_MAX_BYTES + 2) return finish({ ok: false, why: 'TCP reply too large' });
      if (buf.length >= 2) {
        const need = buf.readUInt16BE(0);
        if (buf.length >= need + 2) finish({ ok: true, reply: buf.subarray(2, 2 + need) });
      }
    });
  });
}

export class DnsSource implements Source {
  readonly type = 'dns' as const;
  readonly vantage = 'outside' as const;
  readonly id: string;
  readonly operator: string;
  readonly families: readonly Family[];
  private readonly o: DnsSourceOptions;

  constructor(o: DnsSourceOptions) {
    this.o = o;
    this.id = o.id ?? `dns:${o.server}/${o.name}${o.qclass === 'CH' ? '/CH' : ''}/${o.qtype}`;
    this.operator = o.operator;
    this.families = o.families;
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    const t0 = performance.now();
    if (!this.families.includes(family)) return failure(family, 'unsupported', `not configured for IPv${family}`, 0);
    const ep = parseEndpoint(this.o.server, 53);
    if (!ep) return failure(family, 'protocol', `server "${this.o.server}" is not host[:port]`, 0);
    const signal = withTimeout(this.o.timeoutMs, opts.signal);
    const fail = (kind: 'timeout' | 'aborted' | 'network' | 'protocol' | 'unsupported', message: string, evidence?: string): SourceResult =>
      failure(family, opts.signal?.aborted ? 'aborted' : kind, opts.signal?.aborted ? 'aborted' : message, since(t0), evidence ? { evidence } : {});

    const server = await resolveFor(ep.host, family, signal);
    if (!server.ok) return fail(server.kind, server.why);
    const id = randomInt(0, 0x10000);
    const query = encodeQuery(id, this.o.name, this.o.qtype, this.o.qclass);
    const r = await udpExchange(query, {
      gateway: server.address,
      port: ep.port,
      signal,
      delays: doublingDelays(Math.min(1000, Math.max(100, Math.floor(this.o.timeoutMs / 3))), 4, this.o.timeoutMs),
      accept: (msg) => matchReply(msg, id, this.o.name, this.o.qtype),
    });
    if (!r.ok) {
      if (signal.aborted) return fail('timeout', `no answer within ${this.o.timeoutMs} ms`);
      return fail(r.kind === 'timeout' ? 'timeout' : 'network', r.why);
    }
    let reply: DecodedPacket = r.value;
    if (reply.flag_tc) {
      const t = await tcpQuery(server.address, ep.port, query, signal);
      if (!t.ok) return fail(signal.aborted ? 'timeout' : 'network', `truncated over UDP; ${t.why}`);
      const m = matchReply(t.reply, id, this.o.name, this.o.qtype);
      if (!m) return fail('protocol', 'truncated over UDP; the TCP reply does not answer our query');
      reply = m;
    }
    const rcode = rcodeOf(reply);
    const strings = answerStrings(reply, this.o.qtype);
    const evidence = evidenceOf(`${rcode} ${strings.join(' | ')}`);
    if (rcode !== 'NOERROR') return fail('protocol', `the server answered ${rcode}`, evidence);
    const v = parseAddressList(strings, family);
    if (!v.ok) return failure(family, 'invalid', v.why, since(t0), { evidence, ...(v.rejected ? { rejected: v.rejected } : {}) });
    return { ok: true, family, address: v.address, ms: since(t0), evidence };
  }
}
