/**
 * `hairpin`: from inside the LAN to public-address:externalPort — does the router loop it back? A
 * warning, never a failure, when it does not: only LAN clients that use the public name are affected.
 * Runs after `reach` (both listen on the forwards' internal ports).
 */
import { hairpinAdvice } from '../advice.js';
import { skip, type Step, type StepOutcome } from '../step.js';
import { recordNames } from './dns.js';

export function evaluateHairpin(results: Array<{ ok: boolean; message: string }>, o: { lanAddress?: string; hostnames: string[] }): StepOutcome {
  if (results.length === 0) return { status: 'skip', summary: 'no TCP forward answers from outside, so loopback cannot be told apart (see the reach step)' };
  if (results.every((r) => r.ok)) return { status: 'pass', summary: `the router loops back: ${results.map((r) => r.message).join('; ')}` };
  return {
    status: 'warn',
    summary: `no NAT loopback: ${results.filter((r) => !r.ok).map((r) => r.message).join('; ')}`,
    advice: hairpinAdvice({ ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}), hostnames: o.hostnames }),
  };
}

export const hairpinStep: Step = {
  id: 'hairpin',
  title: 'NAT loopback (hairpin)',
  needs: ['publicip', 'lan', 'reach'],
  timeoutMs: 3_000,
  async run(ctx) {
    if (ctx.config.forwards.length === 0) return skip('no forwards configured', 'forwards');
    const public4 = ctx.facts.publicip?.[4]?.address;
    if (!public4) return { status: 'skip', summary: 'no public IPv4 address (see the publicip step)' };
    const reach = ctx.facts.reach ?? {};
    const tcp = ctx.config.forwards.filter((f) => f.protocol === 'tcp' && reach[`tcp/${f.externalPort ?? f.internalPort}`] === true).slice(0, 4);
    const results = await Promise.all(tcp.map((f) => ctx.deps.hairpin(public4, f.externalPort ?? f.internalPort, f.internalPort, { signal: ctx.signal })));
    const hostnames = ctx.config.records.flatMap((r) => recordNames(r, ctx.config.ip.families)).map((n) => n.name);
    return evaluateHairpin(results, { ...(ctx.facts.lan?.address4 ? { lanAddress: ctx.facts.lan.address4 } : {}), hostnames });
  },
};
