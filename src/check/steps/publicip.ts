/** `publicip`: the public address per family by consensus of independent sources, disagreements shown. */
import type { Family } from '../../net/address.js';
import type { FamilyConsensus, PublicFacts } from '../facts.js';
import type { Step, StepOutcome } from '../step.js';

function line(c: FamilyConsensus): string[] {
  return c.sources.map((s) => `IPv${c.family} ${s.id}: ${s.address ?? `— ${s.error ?? 'no answer'}`} (${s.ms} ms)`);
}

/**
 * `families` must agree (else fail); `extra` families were asked only for information (no configuration,
 * but this host has a global IPv6 address): their problems are shown, never a failure.
 */
export function evaluatePublicIp(p: PublicFacts, families: readonly Family[], extra: readonly Family[] = []): StepOutcome {
  const parts: string[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  const details: string[] = [];
  for (const f of [...families, ...extra]) {
    const c = p[f];
    const problemsHere = extra.includes(f) && !families.includes(f) ? notes : problems;
    if (!c) { problemsHere.push(`IPv${f}: not asked`); continue; }
    details.push(...line(c));
    const others = c.seen.filter((a) => a !== c.address);
    if (c.address) {
      parts.push(`IPv${f} ${c.address} (${c.agreeing} independent source${c.agreeing === 1 ? '' : 's'} agree, quorum ${c.quorum}${others.length ? `; also seen: ${others.join(', ')}` : ''})`);
    } else if (c.message && c.seen.length <= 1) {
      problemsHere.push(`IPv${f}: ${c.message}`);
    } else if (c.seen.length > 1) {
      problemsHere.push(`IPv${f}: sources disagree (${c.seen.join(' vs ')}), no quorum of ${c.quorum}`);
    } else if (c.seen.length === 1) {
      problemsHere.push(`IPv${f}: only ${c.agreeing} source(s) say ${c.seen[0]}, quorum is ${c.quorum}`);
    } else {
      problemsHere.push(`IPv${f}: no source answered with a public address`);
    }
  }
  if (problems.length > 0) {
    return {
      status: 'fail',
      summary: [...parts, ...problems, ...notes].join('; '),
      advice: 'Without an agreed public address no record can be published. Check the outbound connection (a captive portal, a proxy or a firewall blocking the sources), or configure ip.sources you trust and lower ip.quorum only if you accept fewer independent witnesses.',
      details,
    };
  }
  return { status: 'pass', summary: [...parts, ...notes.map((n) => `${n} (not configured: shown for information)`)].join('; '), details };
}

export const publicIpStep: Step = {
  id: 'publicip',
  title: 'public address',
  needs: ['lan'],
  timeoutMs: 6_000,
  async run(ctx) {
    const families = ctx.config.ip.families;
    // With no configuration, a host with a global IPv6 address also gets its IPv6 view (for information).
    const extra: Family[] = !ctx.configured && ctx.facts.lan?.address6 && !families.includes(6) ? [6] : [];
    // Asked on the side with a short budget: a host with broken IPv6 must not slow the check down.
    const [asked, side] = await Promise.all([
      ctx.deps.publicIp(families, { signal: ctx.signal }),
      extra.length > 0 ? ctx.deps.publicIp(extra, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(1500)]) }) : Promise.resolve({}),
    ]);
    const p = { ...side, ...asked };
    return { ...evaluatePublicIp(p, families, extra), facts: { publicip: p } };
  },
};
