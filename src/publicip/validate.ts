/**
 * The one parser between what a source received and an address consensus may count.
 *
 * Everything a source reads (an HTTP body, a DNS answer, a STUN attribute, a router's report, an
 * interface address, a static value) goes through here. Pure functions of strings; table-tested in
 * test/publicip/validate.test.ts. Only a global unicast address of the asked family passes: private,
 * CGNAT, loopback, link-local, documentation, multicast, IPv4-mapped IPv6, the wrong family, zone ids,
 * and bodies that are not exactly one address are rejected, each with a reason for people.
 */
import { isIP } from 'node:net';
import { canonicalAddress, classifyAddress, familyOf, type AddressClass, type Family } from '../net/address.js';

export type Validation =
  | { ok: true; address: string }
  | { ok: false; why: string; /** The one address seen, when there was one (for the report). */ rejected?: string };

/** Longest text we even look at as an address candidate (an IPv6 literal is at most 45 characters). */
const MAX_ADDRESS_CHARS = 64;

const classText: Record<Exclude<AddressClass, 'global'>, string> = {
  invalid: 'not an IP address',
  unspecified: 'the unspecified address',
  loopback: 'a loopback address',
  private: 'a private address (RFC 1918 / unique local)',
  cgnat: 'a carrier-grade NAT address (100.64.0.0/10, RFC 6598)',
  'link-local': 'a link-local address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation address (RFC 5737 / 3849 / 9637)',
  benchmarking: 'a benchmarking address (198.18.0.0/15)',
  reserved: 'a reserved address, not routable on the internet',
  'ipv4-mapped': 'an IPv4-mapped IPv6 address (::ffff:a.b.c.d)',
};

/** Why an address class cannot be published, for people. */
export function describeClass(cls: AddressClass): string {
  return cls === 'global' ? 'a global unicast address' : classText[cls];
}

function show(s: string): string {
  const t = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return JSON.stringify(t);
}

/** Is `text` exactly one global unicast address of `family`? Returns its canonical form. */
export function validateAddress(text: string, family: Family): Validation {
  if (text.length === 0) return { ok: false, why: 'empty answer' };
  if (text.length > MAX_ADDRESS_CHARS || /\s/.test(text)) return { ok: false, why: `not exactly one address: ${show(text)}` };
  if (text.includes('%')) return { ok: false, why: `an address with a zone id: ${show(text)}` };
  const f = familyOf(text);
  if (f === undefined || isIP(text) === 0) return { ok: false, why: `not an IP address: ${show(text)}` };
  if (f !== family) {
    // An IPv4-mapped IPv6 address asked as family 6 is classified below; any other cross-family answer is wrong.
    return { ok: false, why: `answered IPv${f} ${text} where IPv${family} was asked`, rejected: text };
  }
  const cls = classifyAddress(text);
  if (cls !== 'global') return { ok: false, why: `answered ${text}, ${describeClass(cls)}`, rejected: text };
  return { ok: true, address: canonicalAddress(text) };
}

export type BodyFormat = 'plain' | 'trace' | 'auto';

const TRACE_LINE = /^[a-z][a-z0-9_]*=/;

/** Does this body look like Cloudflare's `/cdn-cgi/trace` (key=value lines, one of them `ip=`)? */
export function looksLikeTrace(body: string): boolean {
  const lines = body.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
  return lines.length > 1 && lines.every((l) => TRACE_LINE.test(l)) && lines.some((l) => l.startsWith('ip='));
}

/**
 * Parses an HTTP echo body. `plain`: the whole body, surrounding whitespace trimmed, must be exactly one
 * address. `trace`: key=value lines with exactly one `ip=` line. `auto`: trace when it looks like one.
 */
export function parseAddressBody(body: string, family: Family, format: BodyFormat = 'auto'): Validation {
  const fmt = format === 'auto' ? (looksLikeTrace(body) ? 'trace' : 'plain') : format;
  if (fmt === 'trace') {
    const lines = body.split('\n').map((l) => l.replace(/\r$/, ''));
    const ips = lines.filter((l) => l.startsWith('ip='));
    if (ips.length !== 1) return { ok: false, why: ips.length === 0 ? 'trace body without an ip= line' : `trace body with ${ips.length} ip= lines` };
    return validateAddress((ips[0] ?? '').slice(3).trim(), family);
  }
  const trimmed = body.replace(/^[\s\uFEFF]+|\s+$/g, '');
  if (trimmed === '') return { ok: false, why: 'empty body' };
  if (/\s/.test(trimmed)) {
    const words = trimmed.split(/\s+/);
    const addrs = words.filter((w) => isIP(w) !== 0);
    return { ok: false, why: addrs.length > 1 ? `${addrs.length} addresses in one body (${addrs.slice(0, 3).join(', ')})` : `not exactly one address: ${show(trimmed)}` };
  }
  return validateAddress(trimmed, family);
}

/**
 * Exactly one distinct address among several answers (DNS records, TXT strings). Answers that are not
 * addresses at all (e.g. Google's `edns0-client-subnet …` TXT) are skipped; two different addresses are
 * a failure, not a choice.
 */
export function parseAddressList(answers: readonly string[], family: Family): Validation {
  const candidates = [...new Set(answers.map((a) => a.trim()).filter((a) => isIP(a) !== 0 && !a.includes('%')))];
  if (candidates.length === 0) {
    return { ok: false, why: answers.length === 0 ? 'no answer records' : `no address in the answer: ${show(answers.join(' | '))}` };
  }
  const canon = [...new Set(candidates.map((c) => canonicalAddress(c)))];
  if (canon.length > 1) return { ok: false, why: `${canon.length} different addresses in one answer (${canon.slice(0, 3).join(', ')})` };
  return validateAddress(candidates[0] ?? '', family);
}
