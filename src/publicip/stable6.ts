/**
 * The IPv6 address a server should publish. Outgoing connections use the kernel's temporary privacy
 * address (RFC 8981), so every echo source — HTTP, DNS, STUN — sees that one; it rotates within a day
 * and nobody can reach a server on it for long. When the agreed address is one of this host's own
 * addresses that is temporary, deprecated or tentative, the address to publish is the stable address of
 * the same prefix on the same interface (the `mngtmpaddr` the temporaries derive from).
 *
 * Pure: the caller passes this host's address table (src/net/if-inet6).
 */
import { canonicalAddress, classifyAddress, sameSubnet } from '../net/address.js';
import { isStable, type Inet6Address } from '../net/if-inet6.js';

export type Unstable = 'temporary' | 'deprecated' | 'tentative';

export type StableChoice =
  /** Not an address of this host (a router or NAT66 in front): publish what the outside sees. */
  | { kind: 'not-local' }
  /** This host's own stable address: publish it. */
  | { kind: 'stable'; address: string; ifname: string }
  /** This host's temporary/deprecated/tentative address, replaced by the stable one of its prefix. */
  | { kind: 'replaced'; observed: string; address: string; ifname: string; why: Unstable; prefixLen: number }
  /** This host's unstable address, and no stable address in its prefix: publish nothing. */
  | { kind: 'none'; observed: string; ifname: string; why: Unstable; prefixLen: number };

export function unstableWhy(a: Inet6Address): Unstable | undefined {
  return a.temporary ? 'temporary' : a.deprecated ? 'deprecated' : a.tentative ? 'tentative' : undefined;
}

/** The stable global addresses of `table` in `ref`'s prefix on its interface, in table order. */
export function stableSiblings(ref: Inet6Address, table: readonly Inet6Address[]): Inet6Address[] {
  const bits = Math.min(ref.prefixLen > 0 ? ref.prefixLen : 64, 64);
  return table.filter((a) => a.ifname === ref.ifname && isStable(a) && classifyAddress(a.address) === 'global'
    && a.address !== ref.address && sameSubnet(a.address, ref.address, bits));
}

/** What to publish instead of `observed` (an agreed IPv6 address), given this host's table. */
export function chooseStable(observed: string, table: readonly Inet6Address[]): StableChoice {
  const want = canonicalAddress(observed);
  const own = table.find((a) => canonicalAddress(a.address) === want);
  if (!own) return { kind: 'not-local' };
  const why = unstableWhy(own);
  if (!why) return { kind: 'stable', address: own.address, ifname: own.ifname };
  const bits = Math.min(own.prefixLen > 0 ? own.prefixLen : 64, 64);
  const sibling = stableSiblings(own, table)[0];
  if (!sibling) return { kind: 'none', observed: own.address, ifname: own.ifname, why, prefixLen: bits };
  return { kind: 'replaced', observed: own.address, address: sibling.address, ifname: own.ifname, why, prefixLen: bits };
}

/** One line for people: why this address and not the one the outside sees. */
export function stableMessage(c: StableChoice): string | undefined {
  switch (c.kind) {
    case 'not-local': return undefined;
    case 'stable': return `${c.address} is this host's stable address on ${c.ifname}`;
    case 'replaced': return `the outside sees ${c.observed}, a ${c.why} address of this host on ${c.ifname} (outgoing connections use it); a server publishes the stable address of the same /${c.prefixLen}: ${c.address}`;
    case 'none': return `the outside sees ${c.observed}, a ${c.why} address of this host on ${c.ifname}, and ${c.ifname} has no stable address in its /${c.prefixLen}: nothing to publish`;
  }
}
