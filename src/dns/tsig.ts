/**
 * TSIG (RFC 8945): signing a DNS message with a shared HMAC key and verifying the signed answer.
 *
 * The TSIG record is the last record of the additional section: owner = key name, TYPE 250, CLASS ANY,
 * TTL 0, RDATA = algorithm name, time signed (48 bits), fudge, MAC size + MAC, original id, error,
 * other len + other data. The MAC covers (RFC 8945 §4.3.3): for a request, the message as it was before
 * the TSIG record was added, then the "TSIG variables" (key name and algorithm name in canonical wire
 * form, class ANY, TTL 0, time signed, fudge, error, other data); for a response, the request's MAC
 * (with its 2-byte length) first, then the response without its TSIG record (ARCOUNT one less, the
 * original id), then its TSIG variables.
 *
 * Contract: pure functions of bytes, key and clock; nothing here does I/O and nothing throws on bytes
 * from the network (`verifyResponse` answers a value). Keys never appear in a returned text.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { encodeName, readName, skipRecord } from './names.js';

export const TSIG_ALGORITHMS = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

const HASH: Record<TsigAlgorithm, string> = {
  'hmac-sha1': 'sha1', 'hmac-sha224': 'sha224', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512',
};

export interface TsigKey {
  /** The key's name as the server knows it (e.g. `ddns-key`); compared case-insensitively. */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** TSIG error field values (RFC 8945 §3; 22 from RFC 4635). */
export const TSIG_ERROR_NAMES: Readonly<Record<number, string>> = { 0: 'NOERROR', 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
export const TYPE_TSIG = 250;
const CLASS_ANY = 255;
/** Seconds of clock difference allowed either way (the RFC's recommended 300). */
export const DEFAULT_FUDGE = 300;

export interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** The TSIG variables (§4.3.3) that follow the message in the MAC input. */
function variables(keyName: string, algorithm: string, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(CLASS_ANY, 0);
  head.writeUInt32BE(0, 2);
  return Buffer.concat([encodeName(keyName), head, encodeName(algorithm), u48(timeSigned), u16(fudge), u16(error), u16(other.length), other]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(HASH[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Signs `message` (a complete DNS message without TSIG): returns the message with the TSIG record
 * appended and ARCOUNT raised by one, and the MAC (needed to verify the answer).
 */
export function signMessage(message: Buffer, key: TsigKey, nowSeconds: number, fudge = DEFAULT_FUDGE): { wire: Buffer; mac: Buffer } {
  const time = Math.floor(nowSeconds);
  const none = Buffer.alloc(0);
  const mac = hmac(key, [message, variables(key.name, key.algorithm, time, fudge, 0, none)]);
  return { wire: appendTsig(message, key.name, key.algorithm, time, fudge, mac, 0), mac };
}

export type SplitResult =
  | { ok: true; unsigned: Buffer; tsig: TsigRecord | undefined }
  | { ok: false; why: string };

/**
 * Splits a message into the part the MAC covers (TSIG record removed, ARCOUNT one less, id set back to
 * the original id) and its TSIG record, if the last additional record is one. Never throws.
 */
export function splitTsig(message: Buffer): SplitResult {
  try {
    if (message.length < 12) return { ok: false, why: 'message shorter than a DNS header' };
    const counts = [4, 6, 8, 10].map((o) => message.readUInt16BE(o));
    const [qd = 0, an = 0, ns = 0, ar = 0] = counts;
    let off = 12;
    for (let i = 0; i < qd; i++) {
      off = readName(message, off).next + 4;
      if (off > message.length) return { ok: false, why: 'question runs past the end' };
    }
    for (let i = 0; i < an + ns + ar - 1; i++) off = skipRecord(message, off);
    if (ar === 0) return { ok: true, unsigned: message, tsig: undefined };
    const start = off;
    const owner = readName(message, off);
    off = owner.next;
    if (off + 10 > message.length) return { ok: false, why: 'last record runs past the end' };
    const type = message.readUInt16BE(off);
    const rdlen = message.readUInt16BE(off + 8);
    const rstart = off + 10;
    const end = rstart + rdlen;
    if (end !== message.length) return { ok: false, why: 'bytes after the last record' };
    if (type !== TYPE_TSIG) return { ok: true, unsigned: message, tsig: undefined };
    const alg = readName(message, rstart);
    let p = alg.next;
    const timeSigned = message.readUIntBE(p, 6);
    const fudge = message.readUInt16BE(p + 6);
    const macSize = message.readUInt16BE(p + 8);
    p += 10;
    const mac = Buffer.from(message.subarray(p, p + macSize));
    p += macSize;
    const originalId = message.readUInt16BE(p);
    const error = message.readUInt16BE(p + 2);
    const otherLen = message.readUInt16BE(p + 4);
    const otherData = Buffer.from(message.subarray(p + 6, p + 6 + otherLen));
    if (p + 6 + otherLen !== end) return { ok: false, why: 'TSIG record length does not add up' };
    const unsigned = Buffer.from(message.subarray(0, start));
    unsigned.writeUInt16BE(originalId, 0);
    unsigned.writeUInt16BE(ar - 1, 10);
    return { ok: true, unsigned, tsig: { keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, otherData } };
  } catch {
    return { ok: false, why: 'malformed message' };
  }
}

export type VerifyResult =
  /** The answer is signed with our key and the MAC and time check out; `error` is the TSIG error field. */
  | { ok: true; error: number; tsig: TsigRecord }
  /** The server could not verify us and said why, in an unsigned answer (BADKEY, BADSIG; RFC 8945 §5.3.2). */
  | { ok: false; kind: 'server-error'; error: number; why: string }
  /** The answer cannot be trusted. */
  | { ok: false; kind: 'untrusted'; why: string };

const same = (a: string, b: string): boolean => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

/** Verifies a signed answer to a request whose MAC was `requestMac`. Never throws. */
export function verifyResponse(message: Buffer, key: TsigKey, requestMac: Buffer, nowSeconds: number): VerifyResult {
  const split = splitTsig(message);
  if (!split.ok) return { ok: false, kind: 'untrusted', why: split.why };
  const t = split.tsig;
  if (!t) return { ok: false, kind: 'untrusted', why: 'the answer is not signed (no TSIG record)' };
  if (!same(t.keyName, key.name) || !same(t.algorithm, key.algorithm)) {
    return { ok: false, kind: 'untrusted', why: `the answer is signed with another key (${t.keyName}, ${t.algorithm})` };
  }
  const name = TSIG_ERROR_NAMES[t.error] ?? `TSIG error ${t.error}`;
  // BADKEY/BADSIG answers carry no MAC: the server could not verify us, so it cannot sign for us.
  if (t.mac.length === 0) {
    if (t.error !== 0) return { ok: false, kind: 'server-error', error: t.error, why: name };
    return { ok: false, kind: 'untrusted', why: 'the answer carries an empty MAC' };
  }
  const expected = hmac(key, [u16(requestMac.length), requestMac, split.unsigned, variables(t.keyName, t.algorithm, t.timeSigned, t.fudge, t.error, t.otherData)]);
  if (t.mac.length !== expected.length || !timingSafeEqual(t.mac, expected)) {
    return { ok: false, kind: 'untrusted', why: 'the answer\'s TSIG MAC does not verify with our key' };
  }
  // A BADTIME answer is signed and carries the server's clock; its own time is the server's, not ours.
  if (t.error === 0 && Math.abs(nowSeconds - t.timeSigned) > t.fudge) {
    return { ok: false, kind: 'untrusted', why: `the answer was signed ${Math.round(t.timeSigned - nowSeconds)} s from our clock (fudge ${t.fudge} s)` };
  }
  return { ok: true, error: t.error, tsig: t };
}

/**
 * Verifies a signed request (the server's side; used by the test fixture and for the reference
 * client's captures): the TSIG error a server would answer, and the request MAC to sign the answer with.
 */
export function verifyRequest(message: Buffer, keys: readonly TsigKey[], nowSeconds: number):
  { ok: true; key: TsigKey; tsig: TsigRecord; unsigned: Buffer } | { ok: false; error: number; why: string; tsig?: TsigRecord; unsigned?: Buffer } {
  const split = splitTsig(message);
  if (!split.ok) return { ok: false, error: 0, why: split.why };
  const t = split.tsig;
  if (!t) return { ok: false, error: 0, why: 'not signed' };
  const key = keys.find((k) => same(k.name, t.keyName) && same(k.algorithm, t.algorithm));
  if (!key) return { ok: false, error: 17, why: 'BADKEY', tsig: t, unsigned: split.unsigned };
  const expected = hmac(key, [split.unsigned, variables(t.keyName, t.algorithm, t.timeSigned, t.fudge, t.error, t.otherData)]);
  if (t.mac.length !== expected.length || !timingSafeEqual(t.mac, expected)) return { ok: false, error: 16, why: 'BADSIG', tsig: t, unsigned: split.unsigned };
  if (Math.abs(nowSeconds - t.timeSigned) > t.fudge) return { ok: false, error: 18, why: 'BADTIME', tsig: t, unsigned: split.unsigned };
  return { ok: true, key, tsig: t, unsigned: split.unsigned };
}

/** Signs an answer (the server's side): `requestMac` first, then the answer, then its variables. */
export function signResponse(message: Buffer, key: TsigKey, requestMac: Buffer, nowSeconds: number, error = 0, otherData: Buffer = Buffer.alloc(0), fudge = DEFAULT_FUDGE): Buffer {
  const time = Math.floor(nowSeconds);
  const mac = hmac(key, [u16(requestMac.length), requestMac, message, variables(key.name, key.algorithm, time, fudge, error, otherData)]);
  return appendTsig(message, key.name, key.algorithm, time, fudge, mac, error, otherData);
}

/** Appends a TSIG record as given (an unsigned BADKEY/BADSIG answer has an empty MAC). */
export function appendTsig(message: Buffer, keyName: string, algorithm: string, time: number, fudge: number, mac: Buffer, error: number, otherData: Buffer = Buffer.alloc(0)): Buffer {
  const rdata = Buffer.concat([encodeName(algorithm), u48(time), u16(fudge), u16(mac.length), mac, u16(message.readUInt16BE(0)), u16(error), u16(otherData.length), otherData]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  const wire = Buffer.concat([message, encodeName(keyName), fixed, rdata]);
  wire.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return wire;
}

/** A key secret as written in BIND's `key { secret "…"; }` (base64) → bytes; undefined when it is not base64. */
export function decodeKeySecret(text: string): Buffer | undefined {
  const t = text.trim();
  if (t === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return undefined;
  return Buffer.from(t, 'base64');
}
