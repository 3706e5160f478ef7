/**
 * `Mapper` over PCP (see mapper.ts for the contract). Keeps each mapping's nonce for renew and delete;
 * `ownershipOf`/`adopt` hand it to the ledger or state file, so another process can renew or delete
 * what this one made.
 */
import type { ListOutcome, Mapper, MappingKey, Signal, StatusOutcome } from './mapper.js';
import { newNonce, pcpAnnounce, pcpMap, type PcpOptions } from './pcp.js';
import { natpmpUnmap } from './natpmp.js';
import { DENIED_PORT_HINT } from './natpmp.js';
import type { LanContext, MapOutcome, MappingRequest, Protocol, RemoveOutcome } from './types.js';

const key = (protocol: Protocol, internalPort: number) => `${protocol}/${internalPort}`;

export class PcpMapper implements Mapper {
  readonly via = 'pcp' as const;
  /** Nonce per protocol/internal port. */
  private readonly nonces = new Map<string, Buffer>();
  constructor(readonly lan: LanContext, private readonly opts: { budgetMs?: number; initialMs?: number; port?: number; now?: () => number } = {}) {}

  private o(o?: Signal): PcpOptions {
    return {
      gateway: this.lan.gateway, bindAddress: this.lan.address,
      ...(this.opts.budgetMs !== undefined ? { budgetMs: this.opts.budgetMs } : {}),
      ...(this.opts.initialMs !== undefined ? { initialMs: this.opts.initialMs } : {}),
      ...(this.opts.port !== undefined ? { port: this.opts.port } : {}),
      ...(o?.signal ? { signal: o.signal } : {}),
    };
  }

  async map(req: MappingRequest, o?: Signal & { fixedExternal?: boolean }): Promise<MapOutcome> {
    const k = key(req.protocol, req.internalPort);
    const nonce = this.nonces.get(k) ?? newNonce();
    const wanted = req.externalPort ?? req.internalPort;
    const r = await pcpMap({ clientAddress: this.lan.address, nonce, protocol: req.protocol, internalPort: req.internalPort, externalPort: wanted, lifetime: req.leaseSeconds }, this.o(o));
    if (!r.ok) {
      if (r.kind === 'result' && r.result === 12) return { kind: 'refused', via: 'pcp', reason: 'address-mismatch', why: r.why };
      if (r.kind === 'result' && (r.result === 7 || r.result === 11)) return { kind: 'refused', via: 'pcp', reason: 'no-public-address', why: r.why };
      if (r.kind === 'result' && r.result === 2) return { kind: 'refused', via: 'pcp', reason: 'not-authorized', why: r.why };
      if (r.kind === 'fallback' || r.kind === 'refused' || (r.kind === 'result' && (r.result === 1 || r.result === 4))) return { kind: 'unsupported', via: 'pcp', why: r.why };
      if (r.kind === 'timeout') return { kind: 'failed', via: 'pcp', why: `${r.why}: ${DENIED_PORT_HINT}` };
      return { kind: 'failed', via: 'pcp', why: r.why };
    }
    this.nonces.set(k, nonce);
    const m = r.value;
    if (o?.fixedExternal && m.externalPort !== wanted) {
      await pcpMap({ clientAddress: this.lan.address, nonce, protocol: req.protocol, internalPort: req.internalPort, externalPort: 0, lifetime: 0 }, this.o(o));
      this.nonces.delete(k);
      return { kind: 'conflict', via: 'pcp', externalPort: wanted, why: `the router offered external port ${m.externalPort} instead of ${wanted}` };
    }
    return {
      kind: 'mapped', permanent: false, expiresAt: (this.opts.now ?? Date.now)() + m.lifetime * 1000,
      mapping: {
        via: 'pcp', protocol: req.protocol, externalPort: m.externalPort, internalAddress: this.lan.address, internalPort: m.internalPort,
        description: req.description, leaseSeconds: m.lifetime, ...(m.externalAddress && m.externalAddress !== '0.0.0.0' ? { externalAddress: m.externalAddress } : {}),
      },
    };
  }

  async unmap(m: { protocol: Protocol; externalPort: number; internalPort?: number }, o?: Signal): Promise<RemoveOutcome> {
    if (m.internalPort === undefined) return { kind: 'failed', via: 'pcp', why: 'PCP deletes by internal port and nonce, and the internal port is not known for this mapping' };
    const k = key(m.protocol, m.internalPort);
    const nonce = this.nonces.get(k);
    if (nonce) {
      const r = await pcpMap({ clientAddress: this.lan.address, nonce, protocol: m.protocol, internalPort: m.internalPort, externalPort: 0, lifetime: 0 }, this.o(o));
      if (r.ok) { this.nonces.delete(k); return { kind: 'removed', via: 'pcp' }; }
      if (!(r.kind === 'result' && r.result === 2)) return { kind: 'failed', via: 'pcp', why: r.why };
    }
    // Without our nonce PCP will not delete; the same server's NAT-PMP side deletes by internal port.
    const n = await natpmpUnmap({ protocol: m.protocol, internalPort: m.internalPort }, { gateway: this.lan.gateway, bindAddress: this.lan.address, budgetMs: this.opts.budgetMs ?? 1750, ...(this.opts.port !== undefined ? { port: this.opts.port } : {}), ...(o?.signal ? { signal: o.signal } : {}) });
    if (n.ok) return { kind: 'removed', via: 'pcp' };
    return { kind: 'failed', via: 'pcp', why: `PCP delete needs the nonce of the process that made the mapping; NAT-PMP delete also failed: ${n.why}` };
  }

  ownershipOf(m: MappingKey): string | undefined {
    return this.nonces.get(key(m.protocol, m.internalPort))?.toString('hex');
  }

  adopt(m: MappingKey, ownership: string): void {
    // A PCP nonce is 96 bits; anything else in a ledger is not ours to reuse.
    if (/^[0-9a-f]{24}$/i.test(ownership)) this.nonces.set(key(m.protocol, m.internalPort), Buffer.from(ownership, 'hex'));
  }

  async list(): Promise<ListOutcome> {
    return { kind: 'unsupported', via: 'pcp', why: 'PCP cannot list the router\'s mappings' };
  }

  async status(o?: Signal): Promise<StatusOutcome> {
    const r = await pcpAnnounce(this.lan.address, this.o(o));
    if (!r.ok) return { ok: false, kind: r.kind === 'result' && r.result === 7 ? 'no-public-address' : 'failed', why: r.why };
    // ANNOUNCE carries no address; PCP reports it with each MAP. The epoch is what upkeep needs.
    return { ok: true, externalAddress: '', epoch: r.value.epoch };
  }

  async close(): Promise<void> { /* sockets are per exchange */ }
}
