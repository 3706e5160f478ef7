/** `publicip`: the public address per family by consensus of independent sources, disagreements shown. */
import type { Family } from '../../net/address.js';
import type { FamilyConsensus, PublicFacts } from '../facts.js';
import type { Step, StepOutcome } from '../step.js';

function line(c: FamilyConsensus): string[] {
  return c.sources.map((s) => `IPv${c.family} ${s.id}: ${s.address ?? `— ${s.error ?? 'no answer'}`} (${s.ms} ms)`);
}

export function evaluatePublicIp(p: PublicFacts, families: readonly Family[]): StepOutcome {
  const parts: string[] = [];
  const problems: string[] = [];
  const details: string[] = [];
  for (const f of families) {
    const c = p[f];
    if (!c) { problems.push(`IPv${f}: not asked`); continue; }
    details.push(...line(c));
    const others = c.seen.filter((a) => a !== c.address);
    if (c.address) {
      parts.push(`IPv${f} ${c.address} (${c.agreeing} independent source${c.agreeing === 1 ? '' : 's'} agree, quorum ${c.quorum}${others.length ? `; also seen: ${others.join(', ')}` : ''})`);
    } else if (c.message && c.seen.length <= 1) {
      problems.push(`IPv${f}: ${c.message}`);
    } else if (c.seen.length > 1) {
      problems.push(`IPv${f}: sources disagree (${c.seen.join(' vs ')}), no quorum of ${c.quorum}`);
    } else if (c.seen.length === 1) {
      problems.push(`IPv${f}: only ${c.agreeing} source(s) say ${c.seen[0]}, quorum is ${c.quorum}`);
    } else {
      problems.push(`IPv${f}: no source answered with a public address`);
    }
  }
  if (problems.length > 0) {
    return {
      status: 'fail',
      summary: [...parts, ...problems].join('; '),
      advice: 'Without an agreed public address no record can be published. Check the outbound connection (a captive portal, a proxy or a firewall blocking the sources), or configure ip.sources you trust and lower ip.quorum only if you accept fewer independent witnesses.',
      details,
    };
  }
  return { status: 'pass', summary: parts.join('; '), details };
}

export const publicIpStep: Step = {
  id: 'publicip',
  title: 'public address',
  needs: [],
  timeoutMs: 6_000,
  async run(ctx) {
    const families = ctx.config.ip.families;
    const p = await ctx.deps.publicIp(families, { signal: ctx.signal });
    return { ...evaluatePublicIp(p, families), facts: { publicip: p } };
  },
};
