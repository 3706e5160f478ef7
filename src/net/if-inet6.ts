/**
 * This host's IPv6 addresses with their kernel flags, from Linux's `/proc/net/if_inet6`.
 *
 * Each line: 32 hex digits of address, interface index, prefix length, scope, flags (all hex), and the
 * interface name. Flags (IFA_F_*): 0x01 temporary (a privacy address, RFC 8981), 0x20 deprecated
 * (preferred lifetime over), 0x40 tentative (DAD not finished), 0x80 permanent, 0x100 mngtmpaddr (the
 * stable address the kernel derives temporaries from). Only the low byte is in this file on older
 * kernels; nothing here needs more.
 *
 * Contract: `parseIfInet6` is pure and never throws (bad lines are skipped); `readIfInet6` returns `[]`
 * when the file does not exist (not Linux, no IPv6) and throws nothing else either.
 */
import { readFile } from 'node:fs/promises';
import { canonicalAddress } from './address.js';

export const IF_INET6_PATH = '/proc/net/if_inet6';

export const IFA_F_TEMPORARY = 0x01;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;

export interface Inet6Address {
  /** Canonical text form (lower case, zeros compressed). */
  address: string;
  ifname: string;
  prefixLen: number;
  /** 0x00 global, 0x20 link, 0x10 host, 0x40 site. */
  scope: number;
  flags: number;
  temporary: boolean;
  deprecated: boolean;
  tentative: boolean;
}

/** The RFC 5952 text of 32 hex digits. */
function hexToAddress(hex: string): string {
  return canonicalAddress(hex.match(/.{4}/g)?.join(':') ?? hex);
}

export function parseIfInet6(text: string): Inet6Address[] {
  const out: Inet6Address[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-fA-F]{32})\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const [, hex = '', , plen = '', scope = '', flags = '', ifname = ''] = m;
    const f = parseInt(flags, 16);
    out.push({
      address: hexToAddress(hex.toLowerCase()),
      ifname,
      prefixLen: parseInt(plen, 16),
      scope: parseInt(scope, 16),
      flags: f,
      temporary: (f & IFA_F_TEMPORARY) !== 0,
      deprecated: (f & IFA_F_DEPRECATED) !== 0,
      tentative: (f & IFA_F_TENTATIVE) !== 0,
    });
  }
  return out;
}

/** Reads and parses the table; `[]` when it cannot be read (no IPv6, not Linux). */
export async function readIfInet6(path: string = IF_INET6_PATH): Promise<Inet6Address[]> {
  try {
    return parseIfInet6(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}

/** An address a server may publish: none of temporary, deprecated, tentative. */
export function isStable(a: Inet6Address): boolean {
  return !a.temporary && !a.deprecated && !a.tentative;
}
