/**
 * Interface source: the global unicast address of a family on a named local interface — for a host that
 * holds its public address itself (no NAT, or IPv6). Several global addresses (IPv6 privacy addresses)
 * yield the first the system lists, the others are shown in the evidence. Local, no I/O beyond reading
 * the interface table; the table is injected for tests.
 */
import { networkInterfaces } from 'node:os';
import { classifyAddress, type Family } from '../../net/address.js';
import { failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { validateAddress } from '../validate.js';

export interface InterfaceSourceOptions {
  name: string;
  operator?: string;
  families?: readonly Family[];
  interfaces?: () => ReturnType<typeof networkInterfaces>;
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
    const global = ofFamily.filter((a) => classifyAddress(a) === 'global');
    const evidence = ofFamily.join(' ') || '(none)';
    const first = global[0];
    if (first === undefined) {
      const seen = ofFamily.length ? ` (has ${ofFamily.slice(0, 4).join(', ')})` : '';
      return failure(family, 'no-address', `${this.o.name} has no global IPv${family} address${seen}`, since(t0), { evidence });
    }
    const v = validateAddress(first, family);
    if (!v.ok) return failure(family, 'invalid', v.message, since(t0), { evidence });
    return { ok: true, family, address: v.address, ms: since(t0), evidence };
  }
}
