/**
 * PCP (RFC 6887): MAP (create, renew, delete) and ANNOUNCE (probe), version 2 on port 5351.
 *
 * Contract: requests carry this host's own address (IPv4-mapped) as the client IP and a 96-bit nonce the
 * caller keeps for renew and delete; replies are read only after source, length (24–1100, multiple of
 * 4), version, R bit + opcode and — for MAP — nonce, protocol and internal port are checked. A NAT-PMP
 * server's answer (version 0, result 1) is `fallback` (use natpmp.ts). Result 12 ADDRESS_MISMATCH is
 * surfaced as a double-NAT signal. Renewal times are drawn between ½ and ⅝ of the lifetime.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { doublingDelays, udpExchange } from '../net/udp.js';
import { fromGateway } from './natpmp.js';
import { protocolNumber, type Protocol } from './types.js';

export const PCP_PORT = 5351;
export const OP_ANNOUNCE = 0;
export const OP_MAP = 1;

export const pcpResultText: Readonly<Record<number, string>> = {
  0: 'SUCCESS', 1: 'UNSUPP_VERSION', 2: 'NOT_AUTHORIZED', 3: 'MALFORMED_REQUEST', 4: 'UNSUPP_OPCODE',
  5: 'UNSUPP_OPTION', 6: 'MALFORMED_OPTION', 7: 'NETWORK_FAILURE', 8: 'NO_RESOURCES', 9: 'UNSUPP_PROTOCOL',
  10: 'USER_EX_QUOTA', 11: 'CANNOT_PROVIDE_EXTERNAL', 12: 'ADDRESS_MISMATCH', 13: 'EXCESSIVE_REMOTE_PEERS',
};

export function newNonce(): Buffer {
  return randomBytes(12);
}

/** 16-byte PCP address: IPv4 as ::ffff:a.b.c.d, IPv6 as is. */
export function encodeAddress(address: string): Buffer {
  const b = Buffer.alloc(16);
  if (isIP(address) === 4) {
    b.writeUInt16BE(0xffff, 10);
    address.split('.').forEach((p, i) => b.writeUInt8(Number(p), 12 + i));
    return b;
  }
  if (isIP(address) === 6) {
    const [head = '', tail] = address.split('%')[0]!.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  }
  return b;
}

export function decodeAddress(b: Buffer, offset: number): string {
  if (b.length < offset + 16) return '';
  const isV4 = b.subarray(offset, offset + 10).every((x) => x === 0) && b.readUInt16BE(offset + 10) === 0xffff;
  if (isV4) return `${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(offset + i * 2).toString(16));
  return g.join(':');
}

function header(opcode: number, lifetime: number, clientAddress: string, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt8(2, 0);
  b.writeUInt8(opcode & 0x7f, 1);
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(lifetime))), 4);
  encodeAddress(clientAddress).copy(b, 8);
  return b;
}

export interface MapRequest {
  clientAddress: string;
  nonce: Buffer;
  protocol: Protocol;
  internalPort: number;
  /** Suggested; 0 = any. */
  externalPort: number;
  lifetime: number;
  /** Suggested external address; default all-zero (any) in the family of the client. */
  externalAddress?: string;
}

export function encodeMapRequest(r: MapRequest): Buffer {
  const b = header(OP_MAP, r.lifetime, r.clientAddress, 60);
  r.nonce.copy(b, 24, 0, 12);
  b.writeUInt8(protocolNumber[r.protocol], 36);
  b.writeUInt16BE(r.internalPort, 40);
  b.writeUInt16BE(r.externalPort, 42);
  encodeAddress(r.externalAddress ?? (isIP(r.clientAddress) === 4 ? '0.0.0.0' : '::')).copy(b, 44);
  return b;
}

export function encodeAnnounceRequest(clientAddress: string): Buffer {
  return header(OP_ANNOUNCE, 0, clientAddress, 24);
}

export type PcpReply =
  | { kind: 'fallback'; result: number } // a NAT-PMP (version 0) server said "unsupported version"
  | { kind: 'reply'; opcode: number; result: number; lifetime: number; epoch: number; map?: { protocol: number; internalPort: number; externalPort: number; externalAddress: string } };

/**
 * Parses a reply to a request with `opcode` (and, for MAP, the request's nonce/protocol/port). Pure.
 * Undefined for anything that is not exactly such a reply.
 */
export function decodeReply(buf: Buffer, expect: { opcode: number; nonce?: Buffer; protocol?: number; internalPort?: number }): PcpReply | undefined {
  if (buf.length < 4) return undefined;
  if (buf[0] === 0) {
    // NAT-PMP server: version 0, opcode 128 + ours, result 1 (unsupported version).
    if (buf.length > 16 || (buf[1]! & 0x80) === 0) return undefined;
    const result = buf.readUInt16BE(2);
    return result === 1 ? { kind: 'fallback', result } : undefined;
  }
  if (buf[0] !== 2 || buf.length < 24 || buf.length > 1100 || buf.length % 4 !== 0) return undefined;
  if (buf[1] !== (0x80 | expect.opcode)) return undefined;
  const result = buf.readUInt8(3);
  const lifetime = buf.readUInt32BE(4);
  const epoch = buf.readUInt32BE(8);
  if (expect.opcode !== OP_MAP) return { kind: 'reply', opcode: expect.opcode, result, lifetime, epoch };
  // Every MAP reply, errors included, must carry the payload with our nonce (RFC 6887 servers copy the
  // request's payload into error replies): one that cannot be matched to our request is dropped.
  if (buf.length < 60) return undefined;
  if (expect.nonce && !buf.subarray(24, 36).equals(expect.nonce)) return undefined;
  const protocol = buf.readUInt8(36);
  const internalPort = buf.readUInt16BE(40);
  if (expect.protocol !== undefined && protocol !== expect.protocol) return undefined;
  if (expect.internalPort !== undefined && internalPort !== expect.internalPort) return undefined;
  return {
    kind: 'reply', opcode: OP_MAP, result, lifetime, epoch,
    map: { protocol, internalPort, externalPort: buf.readUInt16BE(42), externalAddress: decodeAddress(buf, 44) },
  };
}

/** When to renew a lease of `lifetimeS` seconds granted at `grantedAtMs`: uniformly in [½, ⅝]. Pure. */
export function renewAt(grantedAtMs: number, lifetimeS: number, random: () => number = Math.random): number {
  return grantedAtMs + lifetimeS * 1000 * (0.5 + 0.125 * random());
}

export interface PcpOptions {
  gateway: string;
  bindAddress?: string;
  signal?: AbortSignal;
  /** Total retry time (ms); default 3 s initial doubling up to ~1024 s is the RFC; interactive callers pass a budget. */
  budgetMs?: number;
  initialMs?: number;
  port?: number;
}

export type PcpResult<T> =
  | { ok: true; value: T; ms: number }
  | { ok: false; kind: 'timeout' | 'refused' | 'error' | 'fallback' | 'result'; result?: number; why: string };

function delays(o: PcpOptions): number[] {
  return doublingDelays(o.initialMs ?? 3000, 10, o.budgetMs ?? 1024_000);
}

async function exchange(req: Buffer, expect: Parameters<typeof decodeReply>[1], o: PcpOptions): Promise<PcpResult<Extract<PcpReply, { kind: 'reply' }>>> {
  const port = o.port ?? PCP_PORT;
  const r = await udpExchange<PcpReply>(req, {
    gateway: o.gateway, port, ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}), ...(o.signal ? { signal: o.signal } : {}),
    delays: delays(o),
    accept: (msg, rinfo) => (fromGateway(rinfo, o.gateway, port) ? decodeReply(msg, expect) : undefined),
  });
  if (!r.ok) return { ok: false, kind: r.kind, why: r.why };
  if (r.value.kind === 'fallback') return { ok: false, kind: 'fallback', result: 1, why: 'the gateway speaks NAT-PMP, not PCP' };
  if (r.value.result !== 0) {
    const name = pcpResultText[r.value.result] ?? 'unknown';
    const hint = r.value.result === 12 ? ' — a NAT sits between this host and the PCP server (double NAT)' : '';
    return { ok: false, kind: 'result', result: r.value.result, why: `PCP result ${r.value.result} ${name}${hint}` };
  }
  return { ok: true, value: r.value, ms: r.ms };
}

/** Does the gateway speak PCP? (ANNOUNCE; no state is created.) */
export async function pcpAnnounce(clientAddress: string, o: PcpOptions): Promise<PcpResult<{ epoch: number }>> {
  const r = await exchange(encodeAnnounceRequest(clientAddress), { opcode: OP_ANNOUNCE }, o);
  return r.ok ? { ok: true, value: { epoch: r.value.epoch }, ms: r.ms } : r;
}

export interface PcpMapping { protocol: Protocol; internalPort: number; externalPort: number; externalAddress: string; lifetime: number; epoch: number }

/** MAP: create or renew (same nonce), or delete (lifetime 0, same nonce). */
export async function pcpMap(req: MapRequest, o: PcpOptions): Promise<PcpResult<PcpMapping>> {
  const r = await exchange(encodeMapRequest(req), { opcode: OP_MAP, nonce: req.nonce, protocol: protocolNumber[req.protocol], internalPort: req.internalPort }, o);
  if (!r.ok) return r;
  const m = r.value.map;
  if (!m) return { ok: false, kind: 'error', why: 'MAP reply without its payload' };
  return { ok: true, ms: r.ms, value: { protocol: req.protocol, internalPort: m.internalPort, externalPort: m.externalPort, externalAddress: m.externalAddress, lifetime: r.value.lifetime, epoch: r.value.epoch } };
}
