/** The public-IP consensus (src/publicip `detectPublicAddresses`) as the `publicip` step's facts. Never throws. */
import type { Config } from '../../config/schema.js';
import type { Family } from '../../net/address.js';
import type { FamilyConsensus, PublicFacts } from '../facts.js';
import { detectPublicAddresses, type FamilyResult, type PublicIpReport } from '../../publicip/detect.js';
import { describeError } from '../../net/abort.js';

/** One family's consensus report, flattened to the facts the steps read. Pure. */
export function familyConsensus(r: FamilyResult): FamilyConsensus {
  const asked = r.sources.filter((s) => s.status !== 'skipped');
  const seen = [...new Set(asked.map((s) => s.address).filter((a): a is string => a !== null))];
  return {
    family: r.family,
    address: r.address,
    agreeing: r.operators.length,
    quorum: r.quorum,
    sources: asked.map((s) => ({ id: s.id, address: s.address, error: s.status === 'cancelled' ? 'cancelled (quorum reached)' : s.error, ms: Math.round(s.ms ?? 0) })),
    seen,
    message: r.message,
    ...(r.stable?.address ? { local: true } : {}),
  };
}

/**
 * `known`: a detection the caller already holds (the daemon's last confirmation, at most one interval old):
 * families it has an address for are taken from it, and only the others are asked — so the daemon's own
 * path check adds no requests to the echo services.
 */
export async function observePublicIp(config: Config, families: Family[], o: { signal: AbortSignal; known?: PublicIpReport }): Promise<PublicFacts> {
  try {
    const held = (f: Family) => o.known?.[f === 4 ? '4' : '6'];
    const ask = families.filter((f) => !held(f)?.address);
    const fresh = ask.length > 0 ? await detectPublicAddresses(config, { families: ask, signal: o.signal }) : {};
    const report: PublicIpReport = { ...fresh };
    for (const f of families) if (!ask.includes(f)) report[f === 4 ? '4' : '6'] = held(f);
    const out: PublicFacts = {};
    if (report['4']) out[4] = familyConsensus(report['4']);
    if (report['6']) out[6] = familyConsensus(report['6']);
    return out;
  } catch (err) {
    const out: PublicFacts = {};
    for (const f of families) out[f] = { family: f, address: null, agreeing: 0, quorum: config.ip.quorum, sources: [], seen: [], message: `public-IP detection failed: ${describeError(err)}` };
    return out;
  }
}
