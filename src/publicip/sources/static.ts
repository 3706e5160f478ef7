/**
 * Static source: an address written in the configuration. Validated like any other answer (a private
 * or documentation address written by mistake is refused, not published). Serves only its own family.
 */
import { familyOf, type Family } from '../../net/address.js';
import { failure, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { validateAddress } from '../validate.js';

export interface StaticSourceOptions { address: string; operator?: string; id?: string }

export class StaticSource implements Source {
  readonly type = 'static' as const;
  readonly vantage = 'local' as const;
  readonly id: string;
  readonly operator: string;
  readonly families: readonly Family[];
  private readonly address: string;

  constructor(o: StaticSourceOptions) {
    this.address = o.address;
    this.id = o.id ?? `static:${o.address}`;
    this.operator = o.operator ?? 'static';
    const f = familyOf(o.address);
    this.families = f ? [f] : [];
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted', 0);
    if (!this.families.includes(family)) return failure(family, 'unsupported', `the configured address ${this.address} is not IPv${family}`, 0);
    const v = validateAddress(this.address, family);
    if (!v.ok) return failure(family, 'invalid', `configured ${v.why.replace(/^answered /, '')}`, 0, v.rejected ? { rejected: v.rejected } : {});
    return { ok: true, family, address: v.address, ms: 0, evidence: 'configured' };
  }
}
