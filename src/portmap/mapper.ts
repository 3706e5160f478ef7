/**
 * The port mapper: one interface over UPnP IGD, NAT-PMP and PCP.
 *
 * Contract of every `Mapper`:
 * - It maps only this host's own address on the gateway's interface (`lan.address`, from the default
 *   route) — never an address a caller passes in. Routers in secure_mode refuse anything else anyway.
 * - Every method takes `{ signal }`, is bounded in time, and never throws: outcomes are values
 *   (`MapOutcome`, `RemoveOutcome`, `ListOutcome`, `StatusOutcome`).
 * - `map` both creates and renews (calling it again with the same request refreshes the lease, and
 *   re-creates the mapping if the router lost it). It reports the lease actually granted, and
 *   `permanent` when the router only grants permanent leases (UPnP 725): the caller then owns the expiry
 *   and must `unmap` at `expiresAt` (upkeep.ts does).
 * - `status` reports the router's epoch (NAT-PMP/PCP epoch, UPnP uptime) so upkeep can tell a reboot
 *   (epoch reset) and re-create everything.
 * - `unmap` removes only this host's mappings (UPnP checks the entry's internal client first).
 * - `list` is UPnP only (NAT-PMP and PCP cannot list); others answer `unsupported`.
 *
 * `openMapper('auto')` asks all three at once and picks, in this order, what the router speaks: UPnP IGD
 * (it can list, so audits and `map list` work), then PCP, then NAT-PMP. It returns as soon as the
 * best-ranked protocol has answered, without waiting for the others' timeouts. `openMapper('pcp')` on a
 * NAT-PMP-only gateway (version 0, result 1) falls back to NAT-PMP.
 */
import type { LanContext, ListedMapping, MapOutcome, Mapping, MappingRequest, Protocol, RemoveOutcome, Via, ViaChoice } from './types.js';
import { findGateway, type FindOptions } from './upnp/gateway.js';
import { UpnpMapper } from './mapper-upnp.js';
import { NatpmpMapper } from './mapper-natpmp.js';
import { PcpMapper } from './mapper-pcp.js';
import { natpmpExternalAddress } from './natpmp.js';
import { pcpAnnounce } from './pcp.js';

export interface Signal { signal?: AbortSignal }

export type ListOutcome =
  | { kind: 'listed'; mappings: ListedMapping[]; complete: boolean; note?: string }
  | { kind: 'unsupported'; via: Via; why: string }
  | { kind: 'failed'; via: Via; why: string };

export type StatusOutcome =
  | { ok: true; externalAddress: string; epoch?: number }
  | { ok: false; kind: 'no-public-address' | 'failed'; why: string };

export interface Mapper {
  readonly via: Via;
  readonly lan: LanContext;
  map(req: MappingRequest, o?: Signal & { fixedExternal?: boolean }): Promise<MapOutcome>;
  unmap(m: { protocol: Protocol; externalPort: number; internalPort?: number }, o?: Signal): Promise<RemoveOutcome>;
  list(o?: Signal): Promise<ListOutcome>;
  status(o?: Signal): Promise<StatusOutcome>;
  /**
   * Does the router still hold this mapping for this host? undefined when the protocol cannot tell
   * (NAT-PMP, PCP) or the router did not answer. UPnP asks GetSpecificPortMappingEntry.
   */
  holds?(m: Mapping, o?: Signal): Promise<boolean | undefined>;
  /**
   * What another process needs to renew or delete this mapping later (PCP: the mapping's nonce, as hex;
   * the router refuses a change without it). undefined when the protocol needs nothing (UPnP, NAT-PMP)
   * or this mapper made no such mapping. Callers persist it opaquely (ledger, state file).
   */
  ownershipOf?(m: MappingKey): string | undefined;
  /** Takes over a mapping a previous process made, from what `ownershipOf` gave it then. */
  adopt?(m: MappingKey, ownership: string): void;
  close(): Promise<void>;
}

/** Which mapping of this host: the router keys PCP and NAT-PMP mappings by protocol and internal port. */
export interface MappingKey { protocol: Protocol; internalPort: number }

export interface OpenOptions extends Signal {
  /** Interactive: short retry budgets (NAT-PMP/PCP) and SSDP window. */
  interactive?: boolean;
  /** Overrides for tests and the lab. */
  upnp?: Omit<FindOptions, 'signal'>;
  natpmpPort?: number;
  pcpPort?: number;
}

export type OpenResult = { ok: true; mapper: Mapper } | { ok: false; why: string; tried: Array<{ via: Via; why: string }> };

export function budgets(interactive: boolean): { udpBudgetMs: number; pcpInitialMs: number; ssdpWindowMs: number } {
  return interactive ? { udpBudgetMs: 1750, pcpInitialMs: 250, ssdpWindowMs: 1500 } : { udpBudgetMs: 30_000, pcpInitialMs: 1000, ssdpWindowMs: 3000 };
}

async function openOne(via: Via, lan: LanContext, o: OpenOptions): Promise<OpenResult> {
  const b = budgets(o.interactive ?? true);
  const sig = o.signal ? { signal: o.signal } : {};
  if (via === 'upnp') {
    const g = await findGateway(lan, { windowMs: b.ssdpWindowMs, ...o.upnp, ...sig });
    if (!g.ok) return { ok: false, why: g.why, tried: [{ via, why: g.why }] };
    return { ok: true, mapper: new UpnpMapper(lan, g.gateway) };
  }
  const udp = { gateway: lan.gateway, bindAddress: lan.address, budgetMs: b.udpBudgetMs, ...sig };
  if (via === 'natpmp') {
    const r = await natpmpExternalAddress({ ...udp, ...(o.natpmpPort ? { port: o.natpmpPort } : {}) });
    // Result 3 (no public address) still means the router speaks NAT-PMP.
    if (!r.ok && r.kind !== 'result') return { ok: false, why: `NAT-PMP: ${r.why}`, tried: [{ via, why: r.why }] };
    return { ok: true, mapper: new NatpmpMapper(lan, { budgetMs: b.udpBudgetMs, ...(o.natpmpPort ? { port: o.natpmpPort } : {}) }) };
  }
  const r = await pcpAnnounce(lan.address, { ...udp, initialMs: b.pcpInitialMs, ...(o.pcpPort ? { port: o.pcpPort } : {}) });
  // RFC 6887 §9: a NAT-PMP server answers PCP with version 0, result 1 — speak NAT-PMP to it.
  if (!r.ok && r.kind === 'fallback') return { ok: true, mapper: new NatpmpMapper(lan, { budgetMs: b.udpBudgetMs, ...(o.natpmpPort ? { port: o.natpmpPort } : o.pcpPort ? { port: o.pcpPort } : {}) }) };
  if (!r.ok && r.kind !== 'result') return { ok: false, why: `PCP: ${r.why}`, tried: [{ via, why: r.why }] };
  return { ok: true, mapper: new PcpMapper(lan, { budgetMs: b.udpBudgetMs, initialMs: b.pcpInitialMs, ...(o.pcpPort ? { port: o.pcpPort } : {}) }) };
}

const AUTO_ORDER: readonly Via[] = ['upnp', 'pcp', 'natpmp'];

/** Opens a mapper for `via`; `auto` picks the best protocol the router answers (see the contract above). */
export async function openMapper(via: ViaChoice, lan: LanContext, o: OpenOptions = {}): Promise<OpenResult> {
  if (via !== 'auto') return openOne(via, lan, o);
  const inner = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, inner.signal]) : inner.signal;
  const pending = AUTO_ORDER.map((v) => openOne(v, lan, { ...o, signal }));
  const results: Array<OpenResult | undefined> = AUTO_ORDER.map(() => undefined);
  pending.forEach((p, i) => { void p.then((r) => { results[i] = r; }); });
  // Walk the ranking: wait for each in turn; the first that succeeds wins (all better ones have failed).
  for (let i = 0; i < pending.length; i++) {
    const r = await pending[i]!;
    if (r.ok) {
      inner.abort();
      await Promise.allSettled(pending.slice(i + 1).map(async (p) => { const x = await p; if (x.ok) await x.mapper.close(); }));
      return r;
    }
  }
  const tried = results.flatMap((r) => (r && !r.ok ? r.tried : []));
  return { ok: false, why: `the gateway ${lan.gateway} answers none of UPnP IGD, PCP, NAT-PMP (${tried.map((t) => `${t.via}: ${t.why}`).join('; ')})`, tried };
}
