/**
 * RFC 2136 dynamic update messages: build "replace the A/AAAA RRset of NAME in ZONE with these
 * addresses, TTL T" and read the header of the answer.
 *
 * The message: header with opcode UPDATE (5); zone section = ZONE SOA IN; no prerequisites; update
 * section = per type, "delete RRset" (NAME TYPE, class ANY, TTL 0, no data; RFC 2136 §2.5.2) followed by
 * "add to RRset" (NAME TYPE IN TTL address; §2.5.1). The server applies the section atomically, so the
 * name never has zero or two addresses of a type in between. Names are written uncompressed.
 *
 * Contract: `buildReplaceUpdate` is pure (id passed in); `readUpdateAnswer` never throws on bytes from
 * the network.
 */
import { isIP } from 'node:net';
import { ip4, ip6Groups } from '../net/address.js';
import { encodeName, readName } from './names.js';

export const OPCODE_UPDATE = 5;
const TYPE_SOA = 6;
const CLASS_IN = 1;
const CLASS_ANY = 255;

/** DNS RCODE names (RFC 1035, RFC 2136 §2.2). */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED',
  6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
};

export interface RrsetReplacement {
  type: 'A' | 'AAAA';
  addresses: string[];
}

function rr(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(name), fixed, rdata]);
}

/** An address as RDATA bytes (4 or 16). Throws on text that is not an address of that type. */
export function addressBytes(type: 'A' | 'AAAA', address: string): Buffer {
  if (type === 'A') {
    if (isIP(address) !== 4) throw new Error(`not an IPv4 address: ${address}`);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(ip4(address) >>> 0, 0);
    return b;
  }
  const groups = isIP(address) === 6 ? ip6Groups(address) : undefined;
  if (!groups) throw new Error(`not an IPv6 address: ${address}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

/** The UPDATE message replacing each given RRset of `name` (in `zone`) with its addresses at `ttl`. */
export function buildReplaceUpdate(id: number, zone: string, name: string, ttl: number, sets: readonly RrsetReplacement[]): Buffer {
  const updates: Buffer[] = [];
  for (const s of sets) {
    const type = s.type === 'A' ? 1 : 28;
    updates.push(rr(name, type, CLASS_ANY, 0, Buffer.alloc(0)));
    for (const a of s.addresses) updates.push(rr(name, type, CLASS_IN, ttl, addressBytes(s.type, a)));
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(0, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT
  const zoneSection = Buffer.concat([encodeName(zone), Buffer.from([0, TYPE_SOA, 0, CLASS_IN])]);
  return Buffer.concat([header, zoneSection, ...updates]);
}

export type UpdateAnswer =
  | { ok: true; id: number; opcode: number; rcode: number; rcodeName: string; zone: string | undefined; truncated: boolean }
  | { ok: false; why: string };

/** The header facts of an answer to an UPDATE, and the zone it names. Never throws. */
export function readUpdateAnswer(buf: Buffer): UpdateAnswer {
  if (buf.length < 12) return { ok: false, why: 'answer shorter than a DNS header' };
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return { ok: false, why: 'not an answer (QR bit clear)' };
  const rcode = flags & 0xf;
  let zone: string | undefined;
  try {
    if (buf.readUInt16BE(4) > 0) zone = readName(buf, 12).name;
  } catch {
    return { ok: false, why: 'malformed zone section' };
  }
  return {
    ok: true, id: buf.readUInt16BE(0), opcode: (flags >> 11) & 0xf, rcode, rcodeName: RCODE_NAMES[rcode] ?? `RCODE ${rcode}`, zone,
    truncated: (flags & 0x0200) !== 0,
  };
}
