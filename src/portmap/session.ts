/**
 * One mapping session over the ledger (ledger.ts): how `ddns map` and `ddns run` remember what they made
 * on the router and take over what an earlier process made. The protocol details stay behind the Mapper
 * seam: a grant is recorded with what the mapper's `ownershipOf` says a later process needs, and `seed`
 * hands that back to a new mapper's `adopt`; a pinhole is recorded with the id (UPnP) or nonce (PCP) the router renews it by.
 *
 * Contract: writes are serialized within a session (one read-modify-write of the file at a time, so
 * concurrent events of one process never lose each other's records); each write's promise rejects when
 * the file could not be written (callers say so, nothing else fails); reads never throw.
 */
import type { Mapper } from './mapper.js';
import type { Pinhole } from './pinholes.js';
import { forget, isPinholeEntry, readLedger, remember, type LedgerEntry, type LedgerKey, type MappingEntry, type PinholeEntry } from './ledger.js';
import type { Mapping, Protocol } from './types.js';

export class MappingSession {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, private readonly now: () => number = Date.now) {}

  /** Everything on record that has not expired. */
  entries(): Promise<LedgerEntry[]> {
    return readLedger(this.path, this.now());
  }

  /** IPv4 mappings made through `gateway`. */
  async mappings(gateway: string): Promise<MappingEntry[]> {
    return (await this.entries()).filter((e): e is MappingEntry => !isPinholeEntry(e) && e.gateway === gateway);
  }

  /** IPv6 pinholes opened through `gateway` (all of them without one). */
  async pinholes(gateway?: string): Promise<PinholeEntry[]> {
    return (await this.entries()).filter((e): e is PinholeEntry => isPinholeEntry(e) && (gateway === undefined || e.gateway === gateway));
  }

  /**
   * Hands `mapper` what earlier processes recorded for this host's mappings through its gateway, so it
   * renews and deletes them as their owner. Resolves how many it handed over.
   */
  async seed(mapper: Mapper, extra: readonly MappingEntry[] = []): Promise<number> {
    if (!mapper.adopt) return 0;
    let n = 0;
    // `extra` first: the ledger's records are newer and win.
    for (const e of [...extra, ...(await this.mappings(mapper.lan.gateway))]) {
      if (e.ownership && e.via === mapper.via && e.gateway === mapper.lan.gateway && e.internalAddress === mapper.lan.address) {
        mapper.adopt({ protocol: e.protocol, internalPort: e.internalPort }, e.ownership);
        n++;
      }
    }
    return n;
  }

  /** Records a grant by `mapper` (ms since epoch `expiresAt`, 0 = permanent), with the mapper's ownership data. */
  granted(mapper: Mapper, m: Mapping | Omit<Mapping, 'externalAddress'>, expiresAt: number): Promise<void> {
    const ownership = mapper.ownershipOf?.(m);
    const entry: MappingEntry = {
      via: m.via, protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort,
      description: m.description, leaseSeconds: m.leaseSeconds, expiresAt, gateway: mapper.lan.gateway, ...(ownership ? { ownership } : {}),
    };
    return this.write(() => remember(this.path, entry, this.now()));
  }

  /** The mapping is gone from the router (removed, or found missing). */
  released(key: { gateway: string; protocol: Protocol; externalPort: number }): Promise<void> {
    return this.write(() => forget(this.path, key, this.now()));
  }

  /** Records a pinhole opened or renewed through `gateway`, held until `expiresAt` (ms since epoch). */
  opened(p: Pinhole, gateway: string, expiresAt: number): Promise<void> {
    const entry: PinholeEntry = {
      family: 6, via: p.via, protocol: p.protocol, internalAddress: p.internalAddress, internalPort: p.internalPort,
      ...(p.id !== undefined ? { id: p.id } : {}), ...(p.nonce !== undefined ? { nonce: p.nonce } : {}), leaseSeconds: p.leaseSeconds, gateway, expiresAt,
    };
    return this.write(() => remember(this.path, entry, this.now()));
  }

  /** The pinhole is gone from the router (removed, or the router no longer holds it). */
  closed(key: { gateway: string; protocol: Protocol; internalAddress: string; internalPort: number }): Promise<void> {
    const k: LedgerKey = { family: 6, ...key };
    return this.write(() => forget(this.path, k, this.now()));
  }

  /** Resolves when every write asked for so far is done (failed ones included). */
  async idle(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  private write(op: () => Promise<void>): Promise<void> {
    const next = this.chain.catch(() => undefined).then(op);
    this.chain = next;
    return next;
  }
}
