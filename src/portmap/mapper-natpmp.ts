/**
 * `Mapper` over NAT-PMP (see mapper.ts for the contract).
 */
import type { ListOutcome, Mapper, Signal, StatusOutcome } from './mapper.js';
import { DENIED_PORT_HINT, natpmpExternalAddress, natpmpMap, natpmpUnmap, type NatpmpOptions } from './natpmp.js';
import type { LanContext, MapOutcome, MappingRequest, Protocol, RemoveOutcome } from './types.js';

export class NatpmpMapper implements Mapper {
  readonly via = 'natpmp' as const;
  constructor(readonly lan: LanContext, private readonly opts: { budgetMs?: number; port?: number; now?: () => number } = {}) {}

  private o(o?: Signal): NatpmpOptions {
    return {
      gateway: this.lan.gateway, bindAddress: this.lan.address,
      ...(this.opts.budgetMs !== undefined ? { budgetMs: this.opts.budgetMs } : {}),
      ...(this.opts.port !== undefined ? { port: this.opts.port } : {}),
      ...(o?.signal ? { signal: o.signal } : {}),
    };
  }

  async map(req: MappingRequest, o?: Signal & { fixedExternal?: boolean }): Promise<MapOutcome> {
    const wanted = req.externalPort ?? req.internalPort;
    const r = await natpmpMap({ protocol: req.protocol, internalPort: req.internalPort, externalPort: wanted, lifetime: req.leaseSeconds }, this.o(o));
    if (!r.ok) {
      if (r.kind === 'result' && r.result === 3) return { kind: 'refused', via: 'natpmp', reason: 'no-public-address', why: r.why };
      if (r.kind === 'result' && r.result === 2) return { kind: 'refused', via: 'natpmp', reason: 'not-authorized', why: r.why };
      if (r.kind === 'result' && (r.result === 1 || r.result === 5)) return { kind: 'unsupported', via: 'natpmp', why: r.why };
      if (r.kind === 'refused') return { kind: 'unsupported', via: 'natpmp', why: r.why };
      if (r.kind === 'timeout') return { kind: 'failed', via: 'natpmp', why: `${r.why}: ${DENIED_PORT_HINT}` };
      return { kind: 'failed', via: 'natpmp', why: r.why };
    }
    const m = r.value;
    if (o?.fixedExternal && m.externalPort !== wanted) {
      // The router gave another port; the caller insisted on this one. Give it back.
      await natpmpUnmap({ protocol: req.protocol, internalPort: req.internalPort }, this.o(o));
      return { kind: 'conflict', via: 'natpmp', externalPort: wanted, why: `the router offered external port ${m.externalPort} instead of ${wanted}` };
    }
    const ext = await natpmpExternalAddress(this.o(o));
    return {
      kind: 'mapped', permanent: false, expiresAt: (this.opts.now ?? Date.now)() + m.lifetime * 1000,
      mapping: {
        via: 'natpmp', protocol: req.protocol, externalPort: m.externalPort, internalAddress: this.lan.address,
        internalPort: m.internalPort, description: req.description, leaseSeconds: m.lifetime,
        ...(ext.ok ? { externalAddress: ext.value.address } : {}),
      },
    };
  }

  async unmap(m: { protocol: Protocol; externalPort: number; internalPort?: number }, o?: Signal): Promise<RemoveOutcome> {
    if (m.internalPort === undefined) return { kind: 'failed', via: 'natpmp', why: 'NAT-PMP deletes by internal port, and it is not known for this mapping' };
    const r = await natpmpUnmap({ protocol: m.protocol, internalPort: m.internalPort }, this.o(o));
    if (r.ok) return { kind: 'removed', via: 'natpmp' };
    if (r.kind === 'result' && r.result === 2) return { kind: 'refused', via: 'natpmp', why: r.why };
    return { kind: 'failed', via: 'natpmp', why: r.why };
  }

  async list(): Promise<ListOutcome> {
    return { kind: 'unsupported', via: 'natpmp', why: 'NAT-PMP cannot list the router\'s mappings' };
  }

  async status(o?: Signal): Promise<StatusOutcome> {
    const r = await natpmpExternalAddress(this.o(o));
    if (r.ok) return { ok: true, externalAddress: r.value.address, epoch: r.value.epoch };
    if (r.kind === 'result' && r.result === 3) return { ok: false, kind: 'no-public-address', why: r.why };
    return { ok: false, kind: 'failed', why: r.why };
  }

  async close(): Promise<void> { /* sockets are per exchange */ }
}
