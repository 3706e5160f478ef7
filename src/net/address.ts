/**
 * Address classification — pure functions of a string, no I/O.
 *
 * The one place that knows which IPv4/IPv6 ranges are special. Everything that must decide whether an
 * address may be published (consensus), whether a router's WAN address means CGNAT or double NAT
 * (check/nat), or whether an SSDP LOCATION is on the LAN (portmap) asks here.
 */
import { isIP } from 'node:net';

export type Family = 4 | 6;

/** Why an address is not global unicast; `global` when it is. */
export type AddressClass =
  | 'global'
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'private' // RFC 1918, IPv6 ULA fc00::/7
  | 'cgnat' // RFC 6598 100.64.0.0/10
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking' // 198.18.0.0/15
  | 'reserved' // everything else that is not routable on the internet
  | 'ipv4-mapped'; // ::ffff:a.b.c.d — an IPv4 address in IPv6 clothing is never a valid AAAA

interface Range4 { base: number; bits: number; cls: AddressClass }

const ranges4: Range4[] = [
  { base: ip4('0.0.0.0'), bits: 8, cls: 'unspecified' },
  { base: ip4('10.0.0.0'), bits: 8, cls: 'private' },
  { base: ip4('100.64.0.0'), bits: 10, cls: 'cgnat' },
  { base: ip4('127.0.0.0'), bits: 8, cls: 'loopback' },
  { base: ip4('169.254.0.0'), bits: 16, cls: 'link-local' },
  { base: ip4('172.16.0.0'), bits: 12, cls: 'private' },
  { base: ip4('192.0.0.0'), bits: 24, cls: 'reserved' }, // IETF protocol assignments
  { base: ip4('192.0.2.0'), bits: 24, cls: 'documentation' },
  { base: ip4('192.88.99.0'), bits: 24, cls: 'reserved' }, // 6to4 relay anycast (deprecated)
  { base: ip4('192.168.0.0'), bits: 16, cls: 'private' },
  { base: ip4('198.18.0.0'), bits: 15, cls: 'benchmarking' },
  { base: ip4('198.51.100.0'), bits: 24, cls: 'documentation' },
  { base: ip4('203.0.113.0'), bits: 24, cls: 'documentation' },
  { base: ip4('224.0.0.0'), bits: 4, cls: 'multicast' },
  { base: ip4('255.255.255.255'), bits: 32, cls: 'broadcast' },
  { base: ip4('240.0.0.0'), bits: 4, cls: 'reserved' },
];

/** Parses dotted-quad IPv4 to an unsigned 32-bit number; NaN when it is not one. */
export function ip4(text: string): number {
  if (isIP(text) !== 4) return Number.NaN;
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function inRange4(value: number, r: { base: number; bits: number }): boolean {
  const size = 2 ** (32 - r.bits);
  return value >= r.base && value < r.base + size;
}

/** Expands an IPv6 address to 8 groups of 16 bits; undefined when it is not IPv6. */
export function ip6Groups(text: string): number[] | undefined {
  if (isIP(text) !== 6) return undefined;
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted?.[1]) {
    const v = ip4(dotted[1]);
    s = s.slice(0, -dotted[1].length) + `${Math.floor(v / 65536).toString(16)}:${(v % 65536).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classify6(g: number[]): AddressClass {
  const [a = 0, b = 0] = g;
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return 'ipv4-mapped';
  if (g.slice(0, 6).every((x) => x === 0)) return 'reserved'; // IPv4-compatible (deprecated)
  if ((a & 0xff00) === 0xff00) return 'multicast';
  if ((a & 0xffc0) === 0xfe80) return 'link-local';
  if ((a & 0xffc0) === 0xfec0) return 'reserved'; // site-local (deprecated)
  if ((a & 0xfe00) === 0xfc00) return 'private'; // ULA
  if (a === 0x2001 && b === 0x0db8) return 'documentation';
  if (a === 0x3fff && (b & 0xf000) === 0) return 'documentation'; // 3fff::/20 (RFC 9637)
  if (a === 0x0064 && b === 0xff9b) return 'reserved'; // NAT64 well-known prefix 64:ff9b::/96 and /48
  if (a === 0x0100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return 'reserved'; // discard-only 100::/64
  if (a === 0x2001 && b < 0x0200) return 'reserved'; // IETF protocol assignments 2001::/23 (Teredo, benchmarking …)
  if (a === 0x2002) return 'reserved'; // 6to4: the real address is the embedded IPv4
  if ((a & 0xe000) !== 0x2000) return 'reserved'; // only 2000::/3 is global unicast
  return 'global';
}

/** Classifies an IPv4 or IPv6 address; `invalid` for anything that is not exactly one address. */
export function classifyAddress(text: string): AddressClass {
  const family = isIP(text);
  if (family === 4) {
    const v = ip4(text);
    // Most specific first: the table is ordered so that /32 broadcast precedes 240/4.
    const hit = ranges4.filter((r) => inRange4(v, r)).sort((x, y) => y.bits - x.bits)[0];
    return hit ? hit.cls : 'global';
  }
  if (family === 6) {
    const g = ip6Groups(text);
    return g ? classify6(g) : 'invalid';
  }
  return 'invalid';
}

export function familyOf(text: string): Family | undefined {
  const f = isIP(text);
  return f === 4 || f === 6 ? f : undefined;
}

/** True only for an address that may stand in a public DNS record. */
export function isGlobalUnicast(text: string): boolean {
  return classifyAddress(text) === 'global';
}

/** Private (RFC 1918 / ULA), link-local or CGNAT: where a home router or an SSDP LOCATION may live. */
export function isLanAddress(text: string): boolean {
  const c = classifyAddress(text);
  return c === 'private' || c === 'link-local' || c === 'cgnat';
}

export function isLoopback(text: string): boolean {
  return classifyAddress(text) === 'loopback';
}

/** Is this URL host loopback (literal or `localhost`)? Brackets around IPv6 literals are accepted. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || isLoopback(h);
}

/** Canonical text for comparison: IPv6 lower-case and compressed; IPv4 unchanged. */
export function canonicalAddress(text: string): string {
  if (familyOf(text) !== 6) return text;
  const g = ip6Groups(text);
  if (!g) return text;
  // Compress the longest run of zeros (RFC 5952).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Same prefix of `bits` bits? Both must be of one family. */
export function sameSubnet(a: string, b: string, bits: number): boolean {
  const fa = familyOf(a);
  if (!fa || fa !== familyOf(b)) return false;
  if (fa === 4) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((ip4(a) & mask) >>> 0) === ((ip4(b) & mask) >>> 0);
  }
  const ga = ip6Groups(a) ?? [];
  const gb = ip6Groups(b) ?? [];
  for (let i = 0; i < 8; i++) {
    const take = Math.max(0, Math.min(16, bits - i * 16));
    if (take === 0) break;
    const m = (0xffff << (16 - take)) & 0xffff;
    if (((ga[i] ?? 0) & m) !== ((gb[i] ?? 0) & m)) return false;
  }
  return true;
}

/** `::50`-style text whose upper 64 bits are zero and lower 64 bits are not: the host part of a /64 address. */
export function isIPv6HostPart(text: string): boolean {
  const g = ip6Groups(text);
  return g !== undefined && !text.includes('%') && g.slice(0, 4).every((x) => x === 0) && g.slice(4).some((x) => x !== 0);
}

/** The /64 prefix of `address` (IPv6) joined with the low 64 bits of `hostPart`; undefined if either is not IPv6. */
export function withHostPart(address: string, hostPart: string): string | undefined {
  const a = ip6Groups(address);
  const h = ip6Groups(hostPart);
  if (!a || !h) return undefined;
  return canonicalAddress([...a.slice(0, 4), ...h.slice(4)].map((x) => x.toString(16)).join(':'));
}
