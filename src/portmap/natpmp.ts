/**
 * NAT-PMP (RFC 6886): external address (op 0), map UDP/TCP (ops 1/2), delete, epoch tracking, and the
 * gateway's announcements on 224.0.0.1:5350.
 *
 * Contract: requests go to gateway:5351 from a connected socket (udp.ts), retried at 250 ms doubling
 * (9 tries by default — about 128 s; pass `budgetMs` for interactive use); a reply is read only after its
 * source (gateway, 5351), length, version and opcode are checked. Lifetimes are seconds. A delete is
 * lifetime 0 with suggested external port 0. Result codes come back as values (3 = the router has no
 * public address). The listener never binds 5350 with reuseAddr; when it cannot bind it says so.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { canonicalAddress } from '../net/address.js';
import { doublingDelays, udpExchange, type UdpResult } from '../net/udp.js';
import type { Protocol } from './types.js';

export const NATPMP_PORT = 5351;

/**
 * Seen in the lab: miniupnpd 2.3.1 (Debian) stops answering entirely — NAT-PMP, PCP and UPnP — after a
 * NAT-PMP or PCP request to map an internal port its permission rules deny (it loops over external
 * ports). A mapping request that times out may be why.
 */
export const DENIED_PORT_HINT = "miniupnpd 2.3.x stops answering NAT-PMP/PCP (and UPnP) after a request for a port its permission rules deny; check the router's allowed ports (and restart it)";
export const NATPMP_CLIENT_PORT = 5350;
export const ANNOUNCE_GROUP = '224.0.0.1';

export const natpmpResultText: Readonly<Record<number, string>> = {
  0: 'success', 1: 'unsupported version', 2: 'not authorized / refused', 3: 'network failure (the router has no public address)',
  4: 'out of resources', 5: 'unsupported opcode',
};

const opFor: Record<Protocol, number> = { udp: 1, tcp: 2 };

export function encodeAddressRequest(): Buffer {
  return Buffer.from([0, 0]);
}

export function encodeMapRequest(r: { protocol: Protocol; internalPort: number; externalPort: number; lifetime: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(0, 0);
  b.writeUInt8(opFor[r.protocol], 1);
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(r.internalPort, 4);
  b.writeUInt16BE(r.externalPort, 6);
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(r.lifetime))), 8);
  return b;
}

export type NatpmpReply =
  | { op: 0; result: number; epoch: number; address: string }
  | { op: 1 | 2; result: number; epoch: number; internalPort: number; externalPort: number; lifetime: number };

/**
 * Parses a reply to request opcode `op` (0, 1 or 2). Pure. Undefined for anything that is not exactly
 * such a reply: wrong version or opcode, short, or long. A non-zero result may come with only the header
 * (8 bytes); its other fields are then zero.
 */
export function decodeReply(buf: Buffer, op: 0 | 1 | 2): NatpmpReply | undefined {
  if (buf.length < 4) return undefined;
  if (buf.readUInt8(0) !== 0 || buf.readUInt8(1) !== 128 + op) return undefined;
  const result = buf.readUInt16BE(2);
  const full = op === 0 ? 12 : 16;
  if (result === 0 ? buf.length !== full : buf.length !== 8 && buf.length !== full) return undefined;
  const epoch = buf.length >= 8 ? buf.readUInt32BE(4) : 0;
  if (op === 0) {
    const address = buf.length >= 12 ? `${buf[8]}.${buf[9]}.${buf[10]}.${buf[11]}` : '0.0.0.0';
    return { op, result, epoch, address };
  }
  const has = buf.length >= 16;
  return {
    op, result, epoch,
    internalPort: has ? buf.readUInt16BE(8) : 0,
    externalPort: has ? buf.readUInt16BE(10) : 0,
    lifetime: has ? buf.readUInt32BE(12) : 0,
  };
}

/** A reply from the gateway's NAT-PMP port? (The connected socket filters too; this is the second check.) */
export function fromGateway(rinfo: RemoteInfo, gateway: string, port = NATPMP_PORT): boolean {
  return rinfo.port === port && canonicalAddress(rinfo.address.replace(/^::ffff:/, '')) === canonicalAddress(gateway);
}

/** One observation of the gateway's epoch, with our own clock (ms). */
export interface EpochSample { epoch: number; atMs: number }

/**
 * RFC 6886 §3.6: has the gateway lost its state (rebooted) between two samples? True when the new epoch
 * is below old + ⅞·elapsed − 2 s (which includes going backwards). Pure.
 */
export function epochLostState(prev: EpochSample, next: EpochSample): boolean {
  const elapsedS = Math.max(0, (next.atMs - prev.atMs) / 1000);
  return next.epoch < prev.epoch + (7 / 8) * elapsedS - 2;
}

export interface NatpmpOptions {
  gateway: string;
  bindAddress?: string;
  signal?: AbortSignal;
  /** Total time to keep retrying (ms). Default: the full RFC schedule (~128 s). */
  budgetMs?: number;
  /** Tests point this at a loopback server. */
  port?: number;
}

export type NatpmpResult<T> = { ok: true; value: T; ms: number } | { ok: false; kind: 'timeout' | 'refused' | 'error' | 'result'; result?: number; why: string };

function exchange<T extends NatpmpReply>(req: Buffer, op: 0 | 1 | 2, o: NatpmpOptions): Promise<UdpResult<T>> {
  const port = o.port ?? NATPMP_PORT;
  return udpExchange<T>(req, {
    gateway: o.gateway, port, ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}), ...(o.signal ? { signal: o.signal } : {}),
    delays: doublingDelays(250, 9, o.budgetMs ?? Infinity),
    accept: (msg, rinfo) => (fromGateway(rinfo, o.gateway, port) ? (decodeReply(msg, op) as T | undefined) : undefined),
  });
}

function settle<T extends NatpmpReply, V>(r: UdpResult<T>, ok: (v: T) => V): NatpmpResult<V> {
  if (!r.ok) return { ok: false, kind: r.kind, why: r.why };
  if (r.value.result !== 0) return { ok: false, kind: 'result', result: r.value.result, why: `NAT-PMP result ${r.value.result}: ${natpmpResultText[r.value.result] ?? 'unknown'}` };
  return { ok: true, value: ok(r.value), ms: r.ms };
}

/** The router's external IPv4 address and epoch (opcode 0). */
export async function natpmpExternalAddress(o: NatpmpOptions): Promise<NatpmpResult<{ address: string; epoch: number }>> {
  const r = await exchange<Extract<NatpmpReply, { op: 0 }>>(encodeAddressRequest(), 0, o);
  return settle(r, (v) => ({ address: v.address, epoch: v.epoch }));
}

export interface NatpmpMapping { protocol: Protocol; internalPort: number; externalPort: number; lifetime: number; epoch: number }

/** Creates or renews a mapping; the granted external port may differ from the suggested one. */
export async function natpmpMap(req: { protocol: Protocol; internalPort: number; externalPort: number; lifetime: number }, o: NatpmpOptions): Promise<NatpmpResult<NatpmpMapping>> {
  const op = opFor[req.protocol] as 1 | 2;
  const r = await exchange<Extract<NatpmpReply, { op: 1 | 2 }>>(encodeMapRequest(req), op, o);
  const out = settle(r, (v) => ({ protocol: req.protocol, internalPort: v.internalPort, externalPort: v.externalPort, lifetime: v.lifetime, epoch: v.epoch }));
  if (out.ok && out.value.internalPort !== req.internalPort) return { ok: false, kind: 'error', why: `the reply is for internal port ${out.value.internalPort}, not ${req.internalPort}` };
  return out;
}

/** Deletes our mapping of `internalPort` (lifetime 0, suggested external port 0). */
export async function natpmpUnmap(req: { protocol: Protocol; internalPort: number }, o: NatpmpOptions): Promise<NatpmpResult<{ epoch: number }>> {
  const r = await natpmpMap({ ...req, externalPort: 0, lifetime: 0 }, o);
  return r.ok ? { ok: true, value: { epoch: r.value.epoch }, ms: r.ms } : r;
}

export type Announcement = { protocol: 'natpmp'; epoch: number; address: string } | { protocol: 'pcp'; epoch: number };

/** Parses a datagram from 224.0.0.1:5350 (NAT-PMP op 128 or PCP ANNOUNCE response). Pure. */
export function decodeAnnouncement(buf: Buffer): Announcement | undefined {
  if (buf.length === 12 && buf[0] === 0 && buf[1] === 128 && buf.readUInt16BE(2) === 0) {
    return { protocol: 'natpmp', epoch: buf.readUInt32BE(4), address: `${buf[8]}.${buf[9]}.${buf[10]}.${buf[11]}` };
  }
  if (buf.length >= 24 && buf.length <= 1100 && buf.length % 4 === 0 && buf[0] === 2 && buf[1] === 0x80 && buf[3] === 0) {
    return { protocol: 'pcp', epoch: buf.readUInt32BE(8) };
  }
  return undefined;
}

export type ListenResult = { ok: true; close: () => void } | { ok: false; why: string };

export interface ListenOptions {
  gateway: string;
  /** This host's address on the gateway's interface (joins the group there). */
  interfaceAddress: string;
  onAnnouncement: (a: Announcement) => void;
  port?: number;
  group?: string;
  /** Source port the gateway announces from (5351). */
  gatewayPort?: number;
  /** Join the multicast group (default true; tests on loopback say false). */
  join?: boolean;
}

/**
 * Listens for the gateway's announcements (address change, reboot). Binds `group:5350` exclusively —
 * never with reuseAddr, so no other process can share or steal it; if the port is taken, that is
 * reported as a value and the caller keeps working without announcements.
 */
export function listenAnnouncements(o: ListenOptions): Promise<ListenResult> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    let settled = false;
    socket.on('error', (err) => {
      try { socket.close(); } catch { /* closed */ }
      if (!settled) { settled = true; resolve({ ok: false, why: `cannot listen for NAT-PMP announcements on ${o.group ?? ANNOUNCE_GROUP}:${o.port ?? NATPMP_CLIENT_PORT}: ${err.message}` }); }
    });
    socket.on('message', (msg, rinfo) => {
      try {
        if (!fromGateway(rinfo, o.gateway, o.gatewayPort ?? NATPMP_PORT)) return;
        const a = decodeAnnouncement(msg);
        if (a) o.onAnnouncement(a);
      } catch { /* a listener's bug must not take the process down */ }
    });
    try {
      socket.bind({ address: o.group ?? ANNOUNCE_GROUP, port: o.port ?? NATPMP_CLIENT_PORT, exclusive: true }, () => {
        try {
          if (o.join !== false) socket.addMembership(o.group ?? ANNOUNCE_GROUP, o.interfaceAddress);
        } catch (err) {
          try { socket.close(); } catch { /* closed */ }
          settled = true;
          return resolve({ ok: false, why: `cannot join ${o.group ?? ANNOUNCE_GROUP}: ${err instanceof Error ? err.message : String(err)}` });
        }
        settled = true;
        resolve({ ok: true, close: () => { try { socket.close(); } catch { /* closed */ } } });
      });
    } catch (err) {
      settled = true;
      resolve({ ok: false, why: String(err) });
    }
  });
}
