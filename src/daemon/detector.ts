/**
 * The daemon's external confirmation, cheap when nothing changed. A full consensus run (quorum of
 * independent operators) is needed to *publish* a new address; to *confirm* an address consensus already
 * agreed on, one outside source answering that same address is enough. So:
 * - the first run, a run after a local signal (router announcement, router poll change: `forceFull`),
 *   and any family without a known address get full consensus;
 * - otherwise one outside source is asked (rotating through them, so no single operator is trusted
 *   twice in a row); if it answers anything else, or fails, full consensus runs at once.
 * At the default 300 s interval that is 12 requests an hour to echo services instead of 24+.
 *
 * Contract: `detect` never throws; it returns the `detectPublicAddresses` report shape.
 */
import type { Family } from '../net/address.js';
import type { FamilyResult, PublicIpReport } from '../publicip/detect.js';
import type { Source } from '../publicip/source.js';

export interface DetectorOptions {
  quorum: number;
  /** Full consensus for these families. */
  full(families: readonly Family[], signal: AbortSignal): Promise<PublicIpReport>;
  /** The sources a confirmation may ask (only `outside` ones are used). */
  sources(): readonly Source[] | Promise<readonly Source[]>;
}

const key = (f: Family): '4' | '6' => (f === 4 ? '4' : '6');

export class ConfirmingDetector {
  private readonly known = new Map<Family, string>();
  private force = true;
  private turn = 0;
  /** Counts, for tests and the bench. */
  readonly stats = { full: 0, confirmations: 0, confirmed: 0 };

  constructor(private readonly o: DetectorOptions) {}

  /** The next run is a full consensus for every family (a local signal said something changed). */
  forceFull(): void {
    this.force = true;
  }

  readonly detect = async (families: readonly Family[], signal: AbortSignal): Promise<PublicIpReport> => {
    const out: PublicIpReport = {};
    const needFull: Family[] = [];
    const force = this.force;
    this.force = false;
    for (const f of families) {
      const was = this.known.get(f);
      if (force || was === undefined) { needFull.push(f); continue; }
      const confirmed = await this.confirm(f, was, signal);
      if (confirmed) out[key(f)] = confirmed;
      else needFull.push(f);
    }
    if (needFull.length > 0) {
      this.stats.full++;
      let report: PublicIpReport;
      try {
        report = await this.o.full(needFull, signal);
      } catch {
        report = {};
      }
      for (const f of needFull) {
        const r = report[key(f)];
        if (r) out[key(f)] = r;
        if (r?.address) this.known.set(f, r.address);
      }
    }
    return out;
  };

  private async confirm(family: Family, address: string, signal: AbortSignal): Promise<FamilyResult | undefined> {
    let all: readonly Source[];
    try {
      all = await this.o.sources();
    } catch {
      return undefined;
    }
    const candidates = all.filter((s) => s.vantage === 'outside' && s.families.includes(family));
    if (candidates.length === 0) return undefined;
    const source = candidates[this.turn++ % candidates.length] as Source;
    this.stats.confirmations++;
    const t0 = performance.now();
    let r;
    try {
      r = await source.observe(family, { signal });
    } catch {
      return undefined;
    }
    const ms = Math.round(performance.now() - t0);
    if (!r.ok || r.address !== address) return undefined;
    this.stats.confirmed++;
    return {
      family, address, agreeing: [source.id], operators: [source.operator], quorum: this.o.quorum, verdict: 'agreed',
      message: `${address} confirmed by ${source.id} (agreed by a quorum earlier)`,
      sources: [{ id: source.id, type: source.type, operator: source.operator, vantage: source.vantage, status: 'agreed', address, error: null, ms, evidence: r.evidence }],
      ms,
    };
  }
}
