/**
 * The NAT verdict: a pure function of plain observations (docs/protocols.md, "Carrier NAT and double NAT").
 *
 * Evidence, strongest first:
 * 1. this host itself holds a global IPv4 address that the outside sees → `none`;
 * 2. this host's own address is in 100.64/10 → `cgnat` (the ISP hands CGNAT space straight to the host);
 * 3. PCP ADDRESS_MISMATCH → `double` (a NAT sits between this host and the PCP server);
 * 4. the router's external address: 100.64/10 → `cgnat`, private → `double`, global and equal to the
 *    public consensus → `single`, global but different → `double` (another NAT, or a VPN / multi-WAN, sits
 *    upstream: the internet does not see the router's address);
 *    A router's global claim is contested when the first hop past it is private or 100.64/10: miniupnpd
 *    with STUN reports the upstream NAT's public address (the router that lies) — `double`/`cgnat`,
 *    marked `contested` (an ISP that numbers its own routers privately looks the same);
 * 5. the router hides its WAN address (UPnP "", NAT-PMP result 3) or does not answer → the first hop past
 *    the gateway (tracepath): 100.64/10 → `cgnat`, private → `double`, global → `single`;
 * 6. nothing conclusive → `unknown`.
 */
import { classifyAddress, canonicalAddress } from '../../net/address.js';

export type Nat = 'none' | 'single' | 'double' | 'cgnat' | 'unknown';

export interface NatEvidence {
  /** This host's IPv4 address facing the gateway. */
  hostAddress4?: string;
  /** Each router protocol's report of its external address ('' = hidden / none). */
  routerExternal: string[];
  /** A protocol said the router has no public address (NAT-PMP result 3, empty UPnP answer). */
  routerNoPublic: boolean;
  pcpAddressMismatch: boolean;
  /** The public IPv4 consensus, or null when there is none. */
  public4: string | null;
  /** Addresses of the hops past the gateway, nearest first (the gateway itself excluded). */
  hops?: string[];
}

export interface NatVerdict {
  nat: Nat;
  /** Why, in one sentence for people. */
  reason: string;
  /** The router's external address when one was reported. */
  routerExternal?: string;
  /** The address that proved CGNAT / double NAT (router WAN or hop). */
  evidence?: string;
  /** The verdict goes against what the router itself claims (hops say otherwise): less certain. */
  contested?: boolean;
}

export function natVerdict(e: NatEvidence): NatVerdict {
  const pub = e.public4 === null ? null : canonicalAddress(e.public4);
  if (e.hostAddress4) {
    const c = classifyAddress(e.hostAddress4);
    if (c === 'global' && (pub === null || pub === e.hostAddress4)) {
      return { nat: 'none', reason: `this host holds the public address ${e.hostAddress4} itself` };
    }
    if (c === 'cgnat') {
      return { nat: 'cgnat', reason: `this host's own address ${e.hostAddress4} is in the carrier-grade NAT range 100.64.0.0/10`, evidence: e.hostAddress4 };
    }
  }
  const reported = e.routerExternal.map((a) => a.trim()).filter((a) => a !== '' && a !== '0.0.0.0');
  const routerExt = reported[0];
  if (e.pcpAddressMismatch) {
    return {
      nat: 'double',
      reason: 'the router answered PCP ADDRESS_MISMATCH: another NAT sits between this host and the router',
      ...(routerExt ? { routerExternal: routerExt } : {}),
    };
  }
  if (routerExt) {
    const c = classifyAddress(routerExt);
    if (c === 'cgnat') {
      return { nat: 'cgnat', reason: `the router's WAN address ${routerExt} is carrier-grade NAT space (100.64.0.0/10)`, routerExternal: routerExt, evidence: routerExt };
    }
    if (c === 'private') {
      return { nat: 'double', reason: `the router's WAN address ${routerExt} is private: another router NATs in front of it`, routerExternal: routerExt, evidence: routerExt };
    }
    if (c === 'global') {
      const hop = firstHop(e.hops);
      const hc = hop ? classifyAddress(hop) : undefined;
      if (hop && (hc === 'private' || hc === 'cgnat') && (pub === null || canonicalAddress(routerExt) === pub)) {
        const kind = hc === 'cgnat' ? 'carrier-grade NAT space (100.64.0.0/10)' : 'a private address';
        return {
          nat: hc === 'cgnat' ? 'cgnat' : 'double', contested: true, routerExternal: routerExt, evidence: hop,
          reason: `the router claims the public address ${routerExt}, but the first hop past it, ${hop}, is ${kind}: ${hc === 'cgnat' ? 'a carrier-grade NAT' : 'another NAT'} probably sits upstream and the router learned ${routerExt} by STUN (unless your ISP numbers its own routers that way)`,
        };
      }
      if (pub === null) {
        return { nat: 'single', reason: `the router holds the public address ${routerExt} (not confirmed from outside)`, routerExternal: routerExt };
      }
      if (canonicalAddress(routerExt) === pub) {
        return { nat: 'single', reason: `the router holds the public address ${routerExt}, the one the internet sees`, routerExternal: routerExt };
      }
      return {
        nat: 'double',
        reason: `the router says its address is ${routerExt} but the internet sees ${pub}: another NAT (or a VPN / multi-WAN) sits upstream`,
        routerExternal: routerExt, evidence: pub,
      };
    }
    // A reserved-but-not-private answer (documentation, benchmarking …): not conclusive; fall through to hops.
  }
  const hop = firstHop(e.hops);
  if (hop) {
    const c = classifyAddress(hop);
    const hidden = e.routerNoPublic ? 'the router hides its WAN address, and ' : '';
    if (c === 'cgnat') return { nat: 'cgnat', reason: `${hidden}the first hop past the router, ${hop}, is carrier-grade NAT space (100.64.0.0/10)`, evidence: hop };
    if (c === 'private') return { nat: 'double', reason: `${hidden}the first hop past the router, ${hop}, is a private address: another NAT sits upstream`, evidence: hop };
    if (c === 'global' && !e.routerNoPublic) return { nat: 'single', reason: `the first hop past the router, ${hop}, is on the internet` };
  }
  if (e.routerNoPublic) {
    return { nat: 'unknown', reason: 'the router reports no public address (its WAN address is reserved — CGNAT or double NAT — or the WAN is down), and the hops past it did not tell which' };
  }
  return { nat: 'unknown', reason: 'the router did not report its external address and the hops past it were not seen' };
}

function firstHop(hops: string[] | undefined): string | undefined {
  return hops?.find((h) => classifyAddress(h) !== 'invalid');
}
