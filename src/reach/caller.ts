/**
 * Who is asking the probe — the one address it may ever connect to — and the key its limits count on.
 * Pure functions of strings.
 *
 * Contract:
 * - Without `trustProxy`, or when the socket peer is not loopback, the caller is the peer.
 * - With `trustProxy` and a loopback peer (a proxy on the same host), the caller is the LAST
 *   X-Forwarded-For entry — the one the proxy appended — with an optional `:port` and IPv6 brackets
 *   stripped. Earlier entries are written by the client and never used: when the last entry is not an
 *   address (`unknown`, empty, a name, missing header) the request is refused, never answered with the
 *   proxy's own (loopback) address.
 * - Limits count per `limitKey`: an IPv4 address, or an IPv6 /64 (one subscriber's whole prefix — the
 *   /128 costs an attacker nothing to change).
 */
import { isIP } from 'node:net';
import { canonicalAddress, ip6Groups, isLoopback } from '../net/address.js';

export type CallerResult = { ok: true; caller: string; viaProxy: boolean } | { ok: false; why: string };

const unmap = (a: string) => a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

/** One X-Forwarded-For entry as an address: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]`, `[v6]:port`. */
export function forwardedAddress(entry: string): string | undefined {
  const t = entry.trim();
  const m = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(t) ?? /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(t);
  const host = unmap(m ? m[1]! : t);
  return isIP(host) !== 0 && !host.includes('%') ? canonicalAddress(host) : undefined;
}

/** The caller of a request from `peer` carrying `xff` (see the module contract). */
export function callerOf(peer: string | undefined, xff: string | string[] | undefined, trustProxy: boolean): CallerResult {
  const p = unmap(peer ?? '');
  if (isIP(p) === 0) return { ok: false, why: 'no caller address' };
  if (!trustProxy || !isLoopback(p)) return { ok: true, caller: canonicalAddress(p), viaProxy: false };
  const entries = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',');
  const last = entries[entries.length - 1] ?? '';
  const hop = forwardedAddress(last);
  if (!hop) {
    return { ok: false, why: `behind the proxy, the last X-Forwarded-For entry ${JSON.stringify(last.trim().slice(0, 64))} is not an address — the proxy must append or overwrite X-Forwarded-For` };
  }
  return { ok: true, caller: hop, viaProxy: true };
}

/** The key rate, concurrency, connection and token-failure limits count on: IPv4 address or IPv6 /64. */
export function limitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const g = ip6Groups(address);
  return g ? `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64` : address;
}
