/**
 * `Firewall6` over PCP (RFC 6887): an inbound IPv6 pinhole is a MAP whose internal address is this host's
 * stable IPv6 address, sent over IPv6 from that address to the router (port 5351).
 *
 * Contract (facts in docs/ipv6.md):
 * - The suggested external address is this host's own address and the suggested external port its
 *   internal port: an IPv6 firewall translates nothing.
 * - One 96-bit nonce per protocol/internal port, kept for renewals (the same MAP again) and for the
 *   delete (the same MAP with lifetime 0); `nonce` on the pinhole lets another process renew or delete
 *   it (a router refuses a delete with another nonce: NOT_AUTHORIZED).
 * - PCP cannot ask whether the router still holds a mapping; `holds` asks for the router's epoch
 *   (ANNOUNCE) instead and says false when the epoch shows the router lost its state (a reboot).
 * - Expected failures are values; nothing here throws; every exchange is bounded (`budgetMs`).
 */
import { epochLostState, type EpochSample } from './natpmp.js';
import { newNonce, pcpAnnounce, pcpMap, type PcpOptions } from './pcp.js';
import type { Firewall6, Lan6, Pinhole, PinholeOutcome, PinholeRemoveOutcome } from './pinholes.js';
import type { Protocol } from './types.js';

const key = (protocol: Protocol, internalPort: number) => `${protocol}/${internalPort}`;

export interface PcpFirewallOptions {
  /** Retry budget per exchange (ms); default 6 s. */
  budgetMs?: number;
  initialMs?: number;
  /** Tests point this at a loopback server. */
  port?: number;
  now?: () => number;
}

export class PcpFirewall6 implements Firewall6 {
  readonly via = 'pcp' as const;
  private readonly nonces = new Map<string, Buffer>();
  /** The router's epoch as last seen (one router, one epoch). */
  private epoch: EpochSample | undefined;

  constructor(readonly lan: Lan6, private readonly opts: PcpFirewallOptions = {}) {}

  private o(signal?: AbortSignal): PcpOptions {
    return {
      gateway: this.lan.gateway, bindAddress: this.lan.address, budgetMs: this.opts.budgetMs ?? 6000,
      ...(this.opts.initialMs !== undefined ? { initialMs: this.opts.initialMs } : { initialMs: 500 }),
      ...(this.opts.port !== undefined ? { port: this.opts.port } : {}),
      ...(signal ? { signal } : {}),
    };
  }

  private seen(epoch: number): boolean {
    const next = { epoch, atMs: (this.opts.now ?? Date.now)() };
    const lost = this.epoch !== undefined && epochLostState(this.epoch, next);
    this.epoch = next;
    return lost;
  }

  private nonceFor(protocol: Protocol, internalPort: number, given?: string): Buffer {
    const k = key(protocol, internalPort);
    if (given && /^[0-9a-f]{24}$/i.test(given)) this.nonces.set(k, Buffer.from(given, 'hex'));
    let n = this.nonces.get(k);
    if (!n) { n = newNonce(); this.nonces.set(k, n); }
    return n;
  }

  private mapOnce(protocol: Protocol, internalPort: number, lifetime: number, nonce: Buffer, signal?: AbortSignal) {
    return pcpMap({
      clientAddress: this.lan.address, nonce, protocol, internalPort, externalPort: internalPort, lifetime, externalAddress: this.lan.address,
    }, this.o(signal));
  }

  async open(req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: { signal?: AbortSignal } = {}): Promise<PinholeOutcome> {
    const nonce = this.nonceFor(req.protocol, req.internalPort);
    const r = await this.mapOnce(req.protocol, req.internalPort, req.leaseSeconds, nonce, o.signal);
    if (!r.ok) {
      if (r.kind === 'result' && r.result === 2) return { kind: 'refused', reason: 'not-authorized', why: `${r.why}: the router does not let this host open inbound IPv6 pinholes` };
      if (r.kind === 'fallback' || r.kind === 'refused' || (r.kind === 'result' && (r.result === 1 || r.result === 4 || r.result === 9))) return { kind: 'unsupported', why: r.why };
      return { kind: 'failed', why: r.why };
    }
    this.seen(r.value.epoch);
    return { kind: 'opened', pinhole: this.pinhole(req.protocol, req.internalPort, r.value.lifetime, nonce) };
  }

  private pinhole(protocol: Protocol, internalPort: number, leaseSeconds: number, nonce: Buffer): Pinhole {
    return { via: 'pcp', protocol, internalAddress: this.lan.address, internalPort, leaseSeconds, nonce: nonce.toString('hex') };
  }

  async renew(p: Pinhole, leaseSeconds: number, o: { signal?: AbortSignal } = {}): Promise<{ kind: 'renewed' } | { kind: 'gone' } | { kind: 'failed'; why: string }> {
    const r = await this.mapOnce(p.protocol, p.internalPort, leaseSeconds, this.nonceFor(p.protocol, p.internalPort, p.nonce), o.signal);
    if (!r.ok) return { kind: 'failed', why: r.why };
    // The same MAP re-creates what a rebooted router lost; say so, so upkeep counts it as recreated.
    return this.seen(r.value.epoch) ? { kind: 'gone' } : { kind: 'renewed' };
  }

  async holds(_p: Pinhole, o: { signal?: AbortSignal } = {}): Promise<boolean | undefined> {
    const r = await this.announce(o.signal);
    return r.ok ? !r.lost : undefined;
  }

  /** ANNOUNCE: does the router answer PCP, and did it lose its state since we last heard from it? */
  async announce(signal?: AbortSignal): Promise<{ ok: true; lost: boolean } | { ok: false; kind: 'unsupported' | 'failed'; why: string }> {
    const r = await pcpAnnounce(this.lan.address, this.o(signal));
    if (r.ok) return { ok: true, lost: this.seen(r.value.epoch) };
    const kind = r.kind === 'timeout' || r.kind === 'refused' || r.kind === 'fallback' ? 'unsupported' : 'failed';
    return { ok: false, kind, why: `the router does not answer PCP at ${this.lan.gateway}: ${r.why}` };
  }

  /** PCP has no traffic counter. */
  async working(): Promise<boolean | undefined> {
    return undefined;
  }

  async remove(p: Pick<Pinhole, 'protocol' | 'internalPort' | 'nonce'>, o: { signal?: AbortSignal } = {}): Promise<PinholeRemoveOutcome> {
    const k = key(p.protocol, p.internalPort);
    if (!p.nonce && !this.nonces.has(k)) return { kind: 'failed', why: 'PCP deletes a mapping only with the nonce that made it, and ddns does not know it' };
    const nonce = this.nonceFor(p.protocol, p.internalPort, p.nonce);
    const r = await this.mapOnce(p.protocol, p.internalPort, 0, nonce, o.signal);
    if (!r.ok && r.kind === 'result' && r.result === 2) {
      // Refused although the nonce may well be the one that made it: miniupnpd before 2.3.6 (nftables)
      // loses a pinhole's nonce when it renews it. What is left is to shorten it to the router's minimum
      // lifetime (the same MAP with lifetime 1): it closes by itself then.
      const short = await this.mapOnce(p.protocol, p.internalPort, 1, nonce, o.signal);
      const tail = short.ok ? `; shortened to the router's minimum lifetime instead: it closes in ${short.value.lifetime} s` : '';
      return { kind: 'failed', why: `${r.why}: the router refused the delete (made with another nonce, or a router that lost the nonce on renewal)${tail}` };
    }
    if (!r.ok) return { kind: 'failed', why: r.why };
    this.nonces.delete(k);
    return { kind: 'removed' };
  }
}

export type OpenPcpFirewallResult = { ok: true; firewall: PcpFirewall6 } | { ok: false; kind: 'unsupported' | 'failed'; why: string };

/** Does the router answer PCP at its IPv6 address? (ANNOUNCE: no state is created.) */
export async function openPcpFirewall6(lan6: Lan6, o: PcpFirewallOptions & { signal?: AbortSignal } = {}): Promise<OpenPcpFirewallResult> {
  const { signal, ...opts } = o;
  const fw = new PcpFirewall6(lan6, opts);
  const r = await fw.announce(signal);
  return r.ok ? { ok: true, firewall: fw } : r;
}
