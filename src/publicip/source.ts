/**
 * The seam between sources and consensus (docs/ARCHITECTURE.md, "The flow").
 *
 * A `Source` observes this host's public address for one family from one vantage point. It reports what
 * it saw; it never decides. Consensus (consensus.ts) counts independent operators and publishes.
 *
 * Contract of `Source.observe(family, { signal })`:
 * - resolves with an `Observation` whose `address` has already passed `validateAddress` for `family`
 *   (global unicast, canonical text, right family) — or with a `SourceFailure`; nothing else;
 * - never throws and never rejects (a bug inside a source is caught by the runner and becomes a failure);
 * - honours `signal`: once it aborts the source stops its I/O and resolves promptly with `aborted`;
 * - bounds every wait by its own timeout even when the caller passes no signal;
 * - sends nothing for a family it does not serve (`families`), answering `unsupported` instead;
 * - traffic for family 4 leaves over IPv4 and for family 6 over IPv6, so the answer is the address of
 *   that family's path.
 */
import type { Family } from '../net/address.js';
import { printable } from '../net/text.js';

export type SourceType = 'http' | 'dns' | 'stun' | 'upnp' | 'natpmp' | 'pcp' | 'interface' | 'static';

/**
 * Where a source looks from. `outside`: a server on the internet echoes the address it saw.
 * `router`: the home router reports its WAN address (may itself sit behind CGNAT — never publishes alone).
 * `local`: this host's own configuration (an interface, a static value).
 */
export type Vantage = 'outside' | 'router' | 'local';

export interface Observation {
  ok: true;
  family: Family;
  /** Canonical, validated global unicast address of `family`. */
  address: string;
  /** Wall time of the observation in ms. */
  ms: number;
  /** Raw evidence, trimmed (a body's first bytes, DNS answers, the STUN attribute used). */
  evidence: string;
}

/**
 * Why a source has no address. `invalid`: it answered, but not with exactly one global unicast address
 * of the family (`class` says what it was: private, cgnat, documentation, garbage …). `unsupported`: the
 * source cannot serve this family or the router does not speak the protocol. `no-address`: it answered
 * that it has none (a router with no public WAN address). `timeout` / `aborted` / `network` / `protocol`
 * (a malformed or unexpected reply, an HTTP error status, a redirect) / `oversize`.
 */
export type FailureKind = 'invalid' | 'unsupported' | 'no-address' | 'timeout' | 'aborted' | 'network' | 'protocol' | 'oversize';

export interface SourceFailure {
  ok: false;
  family: Family;
  kind: FailureKind;
  /** For people: what happened, e.g. `answered 100.64.12.34, a carrier-grade NAT address (RFC 6598)`. */
  why: string;
  ms: number;
  /** Raw evidence when there was an answer. */
  evidence?: string;
  /** For `invalid` with exactly one address seen: what it was. */
  rejected?: string;
}

export type SourceResult = Observation | SourceFailure;

export interface ObserveOptions {
  signal?: AbortSignal;
}

export interface Source {
  /** Unique within one configuration: `http:api.ipify.org`, `dns:resolver1.opendns.com/A`, `natpmp`. */
  readonly id: string;
  readonly type: SourceType;
  /** Who runs the service; consensus counts distinct operators, never URLs. */
  readonly operator: string;
  readonly vantage: Vantage;
  /** Families this source can observe. */
  readonly families: readonly Family[];
  observe(family: Family, opts?: ObserveOptions): Promise<SourceResult>;
}

/** Builds a failure value (small helper so sources read as their protocol, not as bookkeeping). */
export function failure(family: Family, kind: FailureKind, why: string, ms: number, extra: { evidence?: string; rejected?: string } = {}): SourceFailure {
  return { ok: false, family, kind, why, ms, ...extra };
}

/** Trims evidence to something printable and short (control characters become '·'). */
export function evidenceOf(text: string, max = 200): string {
  const clean = printable(text, Number.MAX_SAFE_INTEGER, '·');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Milliseconds since `t0` (performance.now()), rounded to 0.1. */
export function since(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}
