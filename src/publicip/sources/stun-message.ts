/**
 * STUN Binding (RFC 5389 / 8489) message codec. Pure, table-tested.
 *
 * A request is the 20-byte header (type 0x0001, length 0, magic cookie, 96-bit transaction id).
 * A reply is accepted only when it is a Binding success (0x0101) or error (0x0111) response with our
 * magic cookie and transaction id, a length that matches the datagram and is a multiple of 4, and
 * well-formed attributes. The address comes from XOR-MAPPED-ADDRESS (0x0020; 0x8020 as sent by some old
 * servers), falling back to MAPPED-ADDRESS (0x0001).
 */
import { printable } from '../../net/text.js';
export const STUN_MAGIC = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
const ATTR_MAPPED = 0x0001;
const ATTR_XOR_MAPPED = 0x0020;
const ATTR_XOR_MAPPED_OLD = 0x8020;
const ATTR_ERROR_CODE = 0x0009;

export function encodeBindingRequest(txid: Buffer): Buffer {
  if (txid.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes');
  const b = Buffer.alloc(20);
  b.writeUInt16BE(BINDING_REQUEST, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(STUN_MAGIC, 4);
  txid.copy(b, 8);
  return b;
}

export type StunReply =
  | { kind: 'mapped'; address: string; port: number; attribute: 'XOR-MAPPED-ADDRESS' | 'MAPPED-ADDRESS' }
  | { kind: 'error'; code: number; reason: string }
  | { kind: 'malformed'; message: string };

function formatAddress(family: number, bytes: Buffer): string | undefined {
  if (family === 1 && bytes.length === 4) return [...bytes].join('.');
  if (family === 2 && bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return undefined;
}

function readMapped(value: Buffer, xor: Buffer | undefined): { address: string; port: number } | undefined {
  if (value.length < 4) return undefined;
  const family = value.readUInt8(1);
  const len = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (len === 0 || value.length !== 4 + len) return undefined;
  let port = value.readUInt16BE(2);
  const addr = Buffer.from(value.subarray(4, 4 + len));
  if (xor) {
    port ^= STUN_MAGIC >>> 16;
    for (let i = 0; i < len; i++) addr[i] = (addr[i] ?? 0) ^ (xor[i] ?? 0);
  }
  const address = formatAddress(family, addr);
  return address ? { address, port } : undefined;
}

/**
 * Parses a datagram as the reply to our request `txid`. Undefined when it is not a reply to us at all
 * (another transaction, not STUN): the caller keeps waiting. Never throws.
 */
export function parseBindingReply(buf: Buffer, txid: Buffer): StunReply | undefined {
  if (buf.length < 20) return undefined;
  const type = buf.readUInt16BE(0);
  if ((type & 0xc000) !== 0) return undefined;
  if (buf.readUInt32BE(4) !== STUN_MAGIC || !buf.subarray(8, 20).equals(txid)) return undefined;
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) return undefined;
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || length + 20 !== buf.length) return { kind: 'malformed', message: `length field ${length} does not match a ${buf.length}-byte datagram` };
  const key = Buffer.concat([buf.subarray(4, 8), txid]);
  let xorMapped: { address: string; port: number } | undefined;
  let mapped: { address: string; port: number } | undefined;
  let error: { code: number; reason: string } | undefined;
  for (let off = 20; off < buf.length;) {
    if (off + 4 > buf.length) return { kind: 'malformed', message: 'truncated attribute header' };
    const at = buf.readUInt16BE(off);
    const alen = buf.readUInt16BE(off + 2);
    const end = off + 4 + alen;
    if (end > buf.length) return { kind: 'malformed', message: `attribute 0x${at.toString(16)} runs past the end` };
    const value = buf.subarray(off + 4, end);
    if (at === ATTR_XOR_MAPPED || at === ATTR_XOR_MAPPED_OLD) {
      const m = readMapped(value, key);
      if (!m) return { kind: 'malformed', message: 'bad XOR-MAPPED-ADDRESS' };
      xorMapped ??= m;
    } else if (at === ATTR_MAPPED) {
      const m = readMapped(value, undefined);
      if (!m) return { kind: 'malformed', message: 'bad MAPPED-ADDRESS' };
      mapped ??= m;
    } else if (at === ATTR_ERROR_CODE && value.length >= 4) {
      error = { code: (value.readUInt8(2) & 0x7) * 100 + value.readUInt8(3), reason: printable(value.subarray(4).toString('utf8'), 100, ' ').trim() };
    }
    off = end + ((4 - (alen % 4)) % 4);
  }
  if (type === BINDING_ERROR) return { kind: 'error', code: error?.code ?? 0, reason: error?.reason ?? '' };
  if (xorMapped) return { kind: 'mapped', ...xorMapped, attribute: 'XOR-MAPPED-ADDRESS' };
  if (mapped) return { kind: 'mapped', ...mapped, attribute: 'MAPPED-ADDRESS' };
  return { kind: 'malformed', message: 'success response without a mapped address' };
}
