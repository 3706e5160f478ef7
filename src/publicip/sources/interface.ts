/**
 * Interface source: the global unicast address of a family on a named local interface — for a host that
 * holds its public address itself (no NAT, or IPv6). IPv6 addresses the kernel marks temporary (privacy
 * addresses, which it lists first), deprecated or tentative are never the answer (src/net/if-inet6);
 * among the rest the first the system lists wins, the others are shown in the evidence. Local, no I/O
 * beyond reading the interface tables; both are injected for tests.
 */
import { networkInterfaces } from 'node:os';
import { canonicalAddress, classifyAddress, type Family } from '../../net/address.js';
import { failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { validateAddress } from '../validate.js';
import { readIfInet6, type Inet6Address } from '../../net/if-inet6.js';
import { unstableWhy } from '../stable6.js';

export interface InterfaceSourceOptions {
  name: string;
  operator?: string;
  families?: readonly Family[];
  interfaces?: () => ReturnType<typeof networkInterfaces>;
  /** This host's IPv6 addresses with their flags (default: /proc/net/if_inet6). */
  inet6?: () => Promise<Inet6Address[]>;
  id?: string;
}

export class InterfaceSource implements Source {
  readonly type = 'interface' as const;
  readonly vantage = 'local' as const;
  readonly id: string;
  readonly operator: string;
  readonly families: readonly Family[];
  private readonly o: InterfaceSourceOptions;

  constructor(o: InterfaceSourceOptions) {
    this.o = o;
    this.id = o.id ?? `interface:${o.name}`;
    this.operator = o.operator ?? `interface:${o.name}`;
    this.families = o.families ?? [4, 6];
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    const t0 = performance.now();
    if (!this.families.includes(family)) return failure(family, 'unsupported', `not configured for IPv${family}`, 0);
    if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted', 0);
    let list: ReturnType<typeof networkInterfaces>[string];
    try {
      list = (this.o.interfaces ?? networkInterfaces)()[this.o.name];
    } catch (err) {
      return failure(family, 'network', `cannot read the interfaces: ${String(err)}`, since(t0));
    }
    if (!list) return failure(family, 'no-address', `no interface named ${this.o.name}`, since(t0));
    const ofFamily = list.filter((a) => (family === 4 ? a.family === 'IPv4' : a.family === 'IPv6')).map((a) => a.address);
    const flagged = new Map<string, string>();
    if (family === 6) {
      for (const a of await (this.o.inet6 ?? (() => readIfInet6()))()) {
        const why = a.ifname === this.o.name ? unstableWhy(a) : undefined;
        if (why) flagged.set(canonicalAddress(a.address), why);
      }
    }
    const global = ofFamily.filter((a) => classifyAddress(a) === 'global' && !flagged.has(canonicalAddress(a)));
    const evidence = ofFamily.map((a) => { const why = flagged.get(canonicalAddress(a)); return why ? `${a}(${why})` : a; }).join(' ') || '(none)';
    const first = global[0];
    if (first === undefined) {
      if (flagged.size > 0 && ofFamily.some((a) => classifyAddress(a) === 'global')) {
        return failure(family, 'no-address', `${this.o.name} has only temporary, deprecated or tentative global IPv6 addresses`, since(t0), { evidence });
      }
      const seen = ofFamily.length ? ` (has ${ofFamily.slice(0, 4).join(', ')})` : '';
      return failure(family, 'no-address', `${this.o.name} has no global IPv${family} address${seen}`, since(t0), { evidence });
    }
    const v = validateAddress(first, family);
    if (!v.ok) return failure(family, 'invalid', v.why, since(t0), { evidence });
    return { ok: true, family, address: v.address, ms: since(t0), evidence };
  }
}
