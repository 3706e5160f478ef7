/**
 * `/status.json`: what the daemon knows, as one document — the records with their current address and
 * the history of changes, the forwards with their leases, the tunnels, and the last path check (the
 * `ddns check --json` document with its time). The status page at `/` draws this document.
 *
 * Contract: the document never holds a secret. Records are named by their DNS names and provider, never
 * by a URL, token or password; forwards by protocol and ports; tunnels by the relay's host and ports;
 * errors are the sentences the daemon already logs (which carry no secrets). `StatusBook` is pure: the
 * daemon hands it what happened with the time it happened. A record's history of changes is the state
 * file's (the update engine keeps it, bounded): seeded at start, then taken from each cycle's report.
 */
import { createHash } from 'node:crypto';
import type { CheckReport } from '../check/report.js';
import type { Config, ForwardConfig } from '../config/schema.js';
import type { Family } from '../net/address.js';
import type { AddressChange, State } from '../state/store.js';
import { recordKey } from '../update/records.js';
import { recordNames } from '../check/steps/dns.js';
import { pinholeHealthKey } from './pinholes.js';
import type { CycleReport, RecordResult } from './report.js';

export type { AddressChange } from '../state/store.js';

export const STATUS_VERSION = 1;


export interface RecordStatus {
  provider: string;
  /** The DNS names, comma-separated. */
  name: string;
  /** What the provider has now, per family, and since when. */
  addresses: Partial<Record<'4' | '6', { address: string; since: string }>>;
  /** The last cycle's outcome for this record (absent before the first cycle). */
  result?: RecordResult;
  /** Why it is not current (held, failed, waiting), and what to do. */
  why?: string;
  fix?: string;
  /** The published address's changes, newest first (the state file's, so they outlive a restart). */
  history: AddressChange[];
}

export interface MappingStatus {
  via: string;
  internalAddress: string;
  internalPort: number;
  externalPort: number;
  leaseSeconds: number;
  /** When the router last granted it, and when that lease runs out (ISO). */
  grantedAt: string;
  expiresAt: string | null;
}

/** An inbound IPv6 pinhole to this host's stable address (no translation: the internal port is opened). */
export interface PinholeStatus {
  /** How it was opened: UPnP WANIPv6FirewallControl or a PCP MAP. */
  via: 'upnp' | 'pcp';
  internalAddress: string;
  internalPort: number;
  /** UPnP: the router's id for it (ids start again after a router reboot); absent for PCP. */
  id?: number;
  leaseSeconds: number;
  /** When the router last opened or renewed it, and when that lease runs out (ISO). */
  grantedAt: string;
  expiresAt: string;
}

export interface ForwardStatus {
  /** `tcp/2222` (protocol and external port, as the daemon's logs name it). */
  key: string;
  protocol: 'tcp' | 'udp';
  internalPort: number;
  externalPort: number;
  /** 4: a port mapping on the router; 6: an IPv6 pinhole. */
  families: Array<4 | 6>;
  description?: string;
  /**
   * The mapping on the router now, null when there is none, absent when not tracked (a one-shot check)
   * or not wanted (`families` without 4).
   */
  mapping?: MappingStatus | null;
  /** Why there is no mapping (the daemon's last error for it). */
  problem?: string;
  /** The IPv6 pinhole now, null when there is none, absent when not tracked or not wanted (`families` without 6). */
  pinhole?: PinholeStatus | null;
  /** Why there is no pinhole (the daemon's last error for it). */
  pinholeProblem?: string;
}

type PinholeMemory = Readonly<Record<string, { via: 'upnp' | 'pcp'; internalAddress: string; internalPort: number; id?: number; leaseSeconds: number; at: string }>>;

/** A reverse tunnel as the tunnel keeper reports it (empty list without `tunnels`). */
export interface TunnelStatus {
  /** The relay, as `host:port` (never the user or the key). */
  relay: string;
  state: 'up' | 'connecting' | 'down';
  /** One line for people: what is forwarded, or why it is down. */
  summary: string;
  /** `relayHost:remotePort → localAddress:localPort` per forward. */
  forwards: string[];
  /** When it reached its state (ISO). */
  since?: string;
  /** The warm standby session (absent with `standby: false`): `up` when a relay-side cut is taken over without a new login. */
  standby?: 'up' | 'down';
}

export interface CheckStatus extends CheckReport {
  /** When the check finished (ISO). */
  at: string;
  /** What made it run: `start`, `interval`, or the changes (`address`, `mapping`, `tunnel`, …). */
  reasons: string[];
}

export interface StatusDocument {
  version: number;
  /** When this document was made (ISO). */
  generatedAt: string;
  records: RecordStatus[];
  forwards: ForwardStatus[];
  tunnels: TunnelStatus[];
  /** The last path check, or null before the first one has finished. */
  check: CheckStatus | null;
  /** When the next regular path check is due (ISO), if known. */
  nextCheckAt?: string | null;
  /** `revision(doc)`, set when served: changes exactly when what the page shows changes. */
  revision?: string;
}

/** A short hash of what the document says (not when it was made): the page re-renders when it moves. Pure. */
export function revision(doc: StatusDocument): string {
  const { generatedAt: _g, nextCheckAt: _n, revision: _r, ...shown } = doc;
  return createHash('sha256').update(JSON.stringify(shown)).digest('hex').slice(0, 16);
}

const iso = (ms: number) => new Date(ms).toISOString();
const fkey = (f: Family) => (f === 4 ? '4' : '6');

/** The daemon's memory of records and forwards for the status document. */
export class StatusBook {
  private readonly records = new Map<string, RecordStatus>();
  private readonly problems = new Map<string, string>();

  /**
   * What the state file says about the records before this start (their published addresses and their
   * history; `seedRecords`), so a restarted daemon shows where records stood and how they got there
   * before its first cycle. Called once, at start.
   */
  seed(records: readonly SeedRecord[]): void {
    for (const r of records) {
      const s = this.entry(r.key, r.provider, r.name);
      const seeded = seededStatus(r);
      s.addresses = seeded.addresses;
      s.history = seeded.history;
    }
  }

  /** A finished cycle: each record's outcome, its addresses, and its history as the state file has it now. */
  cycle(report: CycleReport, at: number): void {
    const seen = new Set<string>();
    for (const r of report.records) {
      seen.add(r.key);
      const s = this.entry(r.key, r.provider, r.name);
      s.result = r.result;
      if (r.why) s.why = r.why; else delete s.why;
      if (r.fix) s.fix = r.fix; else delete s.fix;
      if (r.history) s.history = r.history.map((h) => ({ ...h }));
      for (const [f, address] of Object.entries(r.addresses ?? {}) as Array<[string, string]>) {
        const family = Number(f) as Family;
        const k = fkey(family);
        if (s.addresses[k]?.address === address) continue;
        // Since when: the change the state file recorded for it, else this cycle.
        const change = s.history.find((h) => h.family === family);
        s.addresses[k] = { address, since: change?.to === address ? change.at : iso(at) };
      }
    }
    // Records no longer configured (a reload) leave the page.
    if (report.error === undefined) for (const k of [...this.records.keys()]) if (!seen.has(k)) this.records.delete(k);
  }

  /** A forward is failing (`problem`) or fine again (undefined). */
  forward(key: string, problem: string | undefined): void {
    if (problem === undefined) this.problems.delete(key);
    else this.problems.set(key, problem);
  }

  /**
   * The document. `mappings` is the forward keeper's memory (key → the last grant); `forwards` the
   * configuration (what should be there).
   */
  document(o: {
    now: number;
    forwards: readonly ForwardConfig[];
    mappings: Readonly<Record<string, { via: string; internalAddress: string; internalPort: number; externalPort: number; leaseSeconds: number; at: string }>>;
    /** The pinhole keeper's memory (key → the last open or renewal); absent: pinholes not tracked. */
    pinholes?: PinholeMemory;
    tunnels: readonly TunnelStatus[];
    check: CheckStatus | null;
    nextCheckAt?: number;
  }): StatusDocument {
    return {
      version: STATUS_VERSION,
      generatedAt: iso(o.now),
      records: [...this.records.values()].map((r) => structuredClone(r)),
      forwards: o.forwards.map((f) => {
        const key = `${f.protocol}/${f.externalPort ?? f.internalPort}`;
        return forwardStatus(f, o.mappings, this.problems.get(key), o.pinholes ? { held: o.pinholes, problem: this.problems.get(pinholeHealthKey(key)) } : undefined);
      }),
      tunnels: [...o.tunnels],
      check: o.check,
      ...(o.nextCheckAt !== undefined ? { nextCheckAt: iso(o.nextCheckAt) } : {}),
    };
  }

  private entry(key: string, provider: string, name: string): RecordStatus {
    let s = this.records.get(key);
    if (!s) {
      s = { provider, name, addresses: {}, history: [] };
      this.records.set(key, s);
    }
    s.provider = provider;
    s.name = name;
    return s;
  }
}

export interface SeedRecord {
  key: string;
  provider: string;
  name: string;
  published: Partial<Record<'4' | '6', { address: string; at: string }>>;
  history: AddressChange[];
}

/** The configured records as the state file left them (for `StatusBook.seed`). Pure. */
export function seedRecords(config: Config, state: Pick<State, 'records'>): SeedRecord[] {
  return config.records.map((r) => {
    const key = recordKey(r);
    const persisted = state.records[key];
    return {
      key, provider: r.provider, name: recordNames(r, config.ip.families).map((n) => n.name).join(', '),
      published: persisted?.published ?? {}, history: persisted?.history ?? [],
    };
  });
}

/** A record as the state file left it, before any cycle of this process. Pure. */
export function seededStatus(r: SeedRecord): RecordStatus {
  const addresses: RecordStatus['addresses'] = {};
  for (const f of ['4', '6'] as const) {
    const p = r.published[f];
    if (p) addresses[f] = { address: p.address, since: p.at };
  }
  return { provider: r.provider, name: r.name, addresses, history: r.history.map((h) => ({ ...h })) };
}

/** One configured forward with what the router holds for it. Pure. */
export function forwardStatus(
  f: ForwardConfig,
  mappings: Readonly<Record<string, { via: string; internalAddress: string; internalPort: number; externalPort: number; leaseSeconds: number; at: string }>>,
  problem: string | undefined,
  pinholes?: { held: PinholeMemory; problem: string | undefined },
): ForwardStatus {
  const key = `${f.protocol}/${f.externalPort ?? f.internalPort}`;
  const families = f.families ?? [4];
  const m = mappings[key];
  const granted = m ? Date.parse(m.at) : NaN;
  const p = pinholes?.held[key];
  const opened = p ? Date.parse(p.at) : NaN;
  return {
    key, protocol: f.protocol, internalPort: f.internalPort, externalPort: f.externalPort ?? f.internalPort, families: [...families],
    ...(f.description ? { description: f.description } : {}),
    ...(families.includes(4) ? {
      mapping: m ? {
        via: m.via, internalAddress: m.internalAddress, internalPort: m.internalPort, externalPort: m.externalPort, leaseSeconds: m.leaseSeconds,
        grantedAt: m.at, expiresAt: m.leaseSeconds > 0 && Number.isFinite(granted) ? iso(granted + m.leaseSeconds * 1000) : null,
      } : null,
      ...(problem ? { problem } : {}),
    } : {}),
    ...(pinholes && families.includes(6) ? {
      pinhole: p ? {
        via: p.via, internalAddress: p.internalAddress, internalPort: p.internalPort, ...(p.id !== undefined ? { id: p.id } : {}), leaseSeconds: p.leaseSeconds,
        grantedAt: p.at, expiresAt: iso((Number.isFinite(opened) ? opened : 0) + p.leaseSeconds * 1000),
      } : null,
      ...(pinholes.problem ? { pinholeProblem: pinholes.problem } : {}),
    } : {}),
  };
}
