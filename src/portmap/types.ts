/**
 * Values shared by the port-mapping protocols and the mapper. Plain data, no behaviour.
 */
import { printable } from '../net/text.js';

export type Protocol = 'tcp' | 'udp';
/** How a mapping is made. `auto` picks what the router speaks (see mapper.ts). */
export type Via = 'upnp' | 'natpmp' | 'pcp';
export type ViaChoice = Via | 'auto';

/** What the caller wants opened on the router. */
export interface MappingRequest {
  protocol: Protocol;
  internalPort: number;
  /** Suggested external port; defaults to `internalPort`. */
  externalPort?: number;
  /** Wanted lease in seconds (> 0). Routers may grant less, or only permanent leases. */
  leaseSeconds: number;
  description: string;
}

/** A mapping as the router reports it (or granted it). */
export interface Mapping {
  via: Via;
  protocol: Protocol;
  externalPort: number;
  internalAddress: string;
  internalPort: number;
  description: string;
  /** Lease the router reports/granted, in seconds; 0 = permanent on the router. */
  leaseSeconds: number;
  /** The router's external address when the protocol reported it. */
  externalAddress?: string;
}

/** Where we stand on the LAN: the gateway and this host's own address facing it. */
export interface LanContext {
  gateway: string;
  /** This host's address on the interface that routes to the gateway (the only one we ever map). */
  address: string;
  interface: string;
  prefixLength: number;
}

export const protocolNumber: Record<Protocol, number> = { tcp: 6, udp: 17 };

export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Parses a decimal port string; undefined unless it is an integer 1–65535. */
export function parsePort(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s.trim())) return undefined;
  const n = Number(s.trim());
  return isPort(n) ? n : undefined;
}

/** Description text safe to send: printable characters only (control, format and unassigned code points removed), at most 64. */
export function cleanDescription(s: string): string {
  return [...printable(s, 64)].slice(0, 64).join('');
}

/** What the router holds on a port we wanted (for a conflict). */
export interface Holder { internalAddress: string; internalPort: number; description: string }

/**
 * The result of asking for a mapping. Expected failures are values:
 * - `conflict`: the external port is held by another mapping (`holder` when the router said whose);
 * - `refused`: the router will not map this — `secure-mode` (it only maps the requesting host's own
 *   address, or a permission rule denies the port), `not-authorized`, `no-public-address` (WAN down or
 *   a reserved WAN address: CGNAT/double NAT), `address-mismatch` (PCP 12: a NAT sits between us and
 *   the router — double NAT);
 * - `unsupported`: the router does not speak this protocol;
 * - `failed`: anything else (timeouts, malformed replies), with a message for people.
 */
export type MapOutcome =
  | { kind: 'mapped'; mapping: Mapping; /** The router granted only a permanent lease: we must delete it ourselves at `expiresAt`. */ permanent: boolean; expiresAt: number }
  | { kind: 'conflict'; via: Via; externalPort: number; holder?: Holder; why: string }
  | { kind: 'refused'; via: Via; reason: 'secure-mode' | 'not-authorized' | 'no-public-address' | 'address-mismatch'; why: string }
  | { kind: 'unsupported'; via: Via; why: string }
  | { kind: 'failed'; via: Via; why: string };

export type RemoveOutcome =
  | { kind: 'removed'; via: Via }
  | { kind: 'not-found'; via: Via }
  | { kind: 'refused'; via: Via; why: string }
  | { kind: 'unsupported'; via: Via; why: string }
  | { kind: 'failed'; via: Via; why: string };

/** A mapping as listed, with whether it points at this host. */
export interface ListedMapping extends Mapping {
  /** Points at this host's own LAN address. */
  ours: boolean;
  /** Enabled on the router (UPnP NewEnabled). */
  enabled: boolean;
  /** 6: an inbound IPv6 pinhole (no translation: externalPort = internalPort); absent: an IPv4 mapping. */
  family?: 6;
  /** The router's UniqueID of a pinhole. */
  pinholeId?: number;
}
