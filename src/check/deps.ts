/**
 * The I/O a check needs, as one injected interface: steps call these, tests pass fakes, and
 * `realDeps()` (real-deps.ts) wires them to the route table, the port-mapping client, the public-IP
 * consensus, DNS, the state store and the reachability probe.
 *
 * Contract of every member: takes `{ signal }`, resolves within the signal's lifetime, never rejects for
 * a network condition (failures are values), never changes the router or the records.
 */
import type { Family } from '../net/address.js';
import type { HopsFacts, LanFacts, RouterFacts, PublicFacts } from './facts.js';
import type { ProbeConfig } from '../config/schema.js';
import type { ReachOutcome, ReachRequest } from '../reach/types.js';
import type { StepId } from './step.js';

export type { ReachOutcome, ReachRequest } from '../reach/types.js';
export type { RelayProbeOutcome, RelayProbeRequest } from '../reach/relay.js';
import type { RelayProbeOutcome, RelayProbeRequest } from '../reach/relay.js';

export interface Signal { signal: AbortSignal }

/** One earlier LAN observation from the state file (`at`: when it was last seen). */
export interface LanSighting { address: string; interface?: string; at: string }

export type LanResult = { ok: true; lan: LanFacts } | { ok: false; why: string };

/** A/AAAA as one server (or the system resolver) answered. */
export interface DnsAnswer {
  /** The server asked (IP or "system"). */
  server: string;
  addresses: string[];
  ttl?: number;
  error?: string;
}

export interface DnsLookup {
  /** Asks the zone's authoritative servers (found through NS lookups) directly. */
  authoritative(name: string, family: Family, o: Signal): Promise<DnsAnswer[]>;
  /** Asks the system resolver. */
  system(name: string, family: Family, o: Signal): Promise<DnsAnswer>;
}

export interface Reachability {
  /** Whether the probe in use proves arrival here (our probe) or only that something answers (echoip). */
  mode: 'probe' | 'echoip';
  check(req: ReachRequest, o: Signal): Promise<ReachOutcome>;
}

export interface CheckDeps {
  /**
   * Loads the code a step's I/O runs (its modules are imported lazily, so a check loads only what it uses).
   * The runner awaits it before the step's budget starts: a budget is for answers from the network, not for
   * loading modules — under load, importing the port-mapping client took 1–2 s of the router's 3 s.
   * Optional (fakes have nothing to load); never rejects.
   */
  load?(step: StepId): Promise<void>;
  lan(o: { interface?: string } & Signal): Promise<LanResult>;
  router(lan: LanFacts, o: Signal): Promise<RouterFacts>;
  publicIp(families: Family[], o: Signal): Promise<PublicFacts>;
  /** Addresses of the hops past the gateway toward the internet, nearest first ([] when unseen; `missing` when the tracer is not installed). */
  hops(o: { gateway: string } & Signal): Promise<HopsFacts>;
  /** Earlier LAN observations (state file), oldest first; `record` adds this run's. Both never throw. */
  lanHistory: { read(): Promise<LanSighting[]>; record(s: LanSighting): Promise<void> };
  dns: DnsLookup;
  /** The reachability probe for this configuration. */
  reach(probe: ProbeConfig | undefined): Reachability;
  /** From this host to publicAddress:externalPort: does the router loop it back to internalPort here? */
  hairpin(publicAddress: string, externalPort: number, internalPort: number, o: Signal): Promise<{ ok: boolean; message: string }>;
  /** From this host to relayHost:remotePort: does it come back through the tunnel to localPort here? */
  relay(req: RelayProbeRequest, o: Signal): Promise<RelayProbeOutcome>;
  now(): Date;
}
