/**
 * Observations that flow between check steps: plain data, written by one step, read by the steps that
 * declare it in `needs`. Every field is an observation (what was seen), never a verdict.
 */
import type { Family } from '../net/address.js';
import type { Mapping } from '../portmap/types.js';

/** What the `lan` step saw: the route to the gateway and this host's addresses on it. */
export interface LanFacts {
  interface: string;
  gateway: string;
  /** This host's IPv4 address facing the gateway. */
  address4?: string;
  prefixLength4?: number;
  /** A global IPv6 address on any interface with a default IPv6 route. */
  address6?: string;
  /** The address carries a lease lifetime (`ip addr` "dynamic"): assigned by DHCP. Undefined: unknown. */
  dynamic?: boolean;
  /** The interface's MAC address (what a static lease is reserved for). */
  mac?: string;
  /** `ip` (iproute2) is not installed: `dynamic` could not be read. */
  missing?: MissingProgram;
}

/** One port-mapping protocol's answer at the gateway. */
export type ProtocolProbe =
  | {
    kind: 'answered';
    /** e.g. "IGD:2 WANIPConnection:2", "NAT-PMP", "PCP". */
    detail: string;
    /** The router's external address as this protocol reported it; '' when the router hides it. */
    externalAddress: string;
    /** NAT-PMP result 3 / PCP NETWORK_FAILURE / UPnP "" : the router has no usable public address. */
    noPublicAddress: boolean;
    ms: number;
  }
  | { kind: 'absent'; why: string; ms: number }
  | { kind: 'error'; why: string; ms: number };

/** What the `router` step saw. */
export interface RouterFacts {
  gateway: string;
  upnp: ProtocolProbe;
  natpmp: ProtocolProbe;
  pcp: ProtocolProbe;
  /** PCP answered ADDRESS_MISMATCH (result 12): a NAT sits between this host and the router. */
  pcpAddressMismatch: boolean;
  /** Every mapping on the router (UPnP list), when the router lets us list them. */
  mappings?: Mapping[];
}

/** One public-IP source's answer (the consensus report, flattened). */
export interface SourceAnswer { id: string; address: string | null; error: string | null; ms: number }

/** The consensus for one family. */
export interface FamilyConsensus {
  family: Family;
  address: string | null;
  /** How many independent operators agreed on `address`. */
  agreeing: number;
  quorum: number;
  sources: SourceAnswer[];
  /** Distinct valid addresses seen (more than one: disagreement). */
  seen: string[];
  /** The consensus's own one-line explanation. */
  message?: string;
  /**
   * IPv6: `address` is this host's own stable address (published instead of the temporary one the
   * outside saw); tests from outside must see this host leave from it.
   */
  local?: boolean;
}

export interface PublicFacts { 4?: FamilyConsensus; 6?: FamilyConsensus }

/** A program ddns runs that is not installed here, and the Debian/Ubuntu package that has it. */
export interface MissingProgram { program: string; debianPackage: string }

/** First hops past the gateway (tracepath), used when the router hides its WAN address. */
export interface HopsFacts { hops: string[]; missing?: MissingProgram }

/** Every fact a step may read. Present once the step that writes it has finished (if it observed). */
export interface Facts {
  lan?: LanFacts;
  router?: RouterFacts;
  publicip?: PublicFacts;
  hops?: HopsFacts;
  nat?: import('./verdict/nat.js').NatVerdict;
  /** Per forward (`tcp/2222`): did it answer from outside? */
  reach?: Record<string, boolean>;
  /** Did every tunnel forward come back here through its relay? */
  relay?: { ok: boolean };
}
