/** `router`: which of UPnP IGD, NAT-PMP and PCP answer at the gateway, and the external address each reports. */
import { noPortmapAdvice, portPairs } from '../advice.js';
import type { HopsFacts, ProtocolProbe, RouterFacts } from '../facts.js';
import type { Step, StepOutcome } from '../step.js';

const NAMES = { upnp: 'UPnP', natpmp: 'NAT-PMP', pcp: 'PCP' } as const;

function describe(name: string, p: ProtocolProbe): string {
  if (p.kind === 'answered') {
    const ext = p.externalAddress ? `external ${p.externalAddress}` : p.noPublicAddress ? 'no public address' : 'no external address';
    return `${p.detail} answered in ${p.ms} ms (${ext})`;
  }
  return `${name}: ${p.why}`;
}

export function evaluateRouter(r: RouterFacts, o: { forwards: Parameters<typeof portPairs>[0]; lanAddress?: string }): StepOutcome {
  const entries = (['upnp', 'natpmp', 'pcp'] as const).map((k) => ({ key: k, p: r[k] }));
  const answered = entries.filter((e) => e.p.kind === 'answered');
  const details = entries.map((e) => describe(NAMES[e.key], e.p));
  if (r.mappings) details.push(`${r.mappings.length} mapping(s) on the router`);
  if (answered.length === 0) {
    return {
      status: 'warn',
      summary: `no port-mapping protocol answered at ${r.gateway} (UPnP IGD, NAT-PMP, PCP)`,
      advice: noPortmapAdvice({ ports: portPairs(o.forwards), gateway: r.gateway, ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}) }),
      details,
    };
  }
  const names = answered.map((e) => (e.p.kind === 'answered' ? e.p.detail : '')).join(', ');
  const ext = answered.map((e) => (e.p.kind === 'answered' ? e.p.externalAddress : '')).find((a) => a !== '');
  if (!ext) {
    return {
      status: 'warn',
      summary: `${names} answer${answered.length === 1 ? 's' : ''}, but the router reports no public address`,
      advice: 'The router has no usable public address on its WAN side (CGNAT or another NAT in front of it, or the WAN is down): mappings it makes cannot be reached from outside — see the nat step.',
      details,
    };
  }
  return { status: 'pass', summary: `${names}; external address ${ext}`, details };
}

export const routerStep: Step = {
  id: 'router',
  title: 'router port mapping',
  needs: ['lan'],
  timeoutMs: 3_000,
  async run(ctx) {
    const lan = ctx.facts.lan;
    if (!lan) return { status: 'skip', summary: 'no gateway (see the lan step)' };
    // The hops past the gateway are traced meanwhile, for the nat step; they get 150 ms more once the router
    // has answered and are cut off then (an ICMP rate limit must not hold the check — nat asks again if it must).
    const stopHops = new AbortController();
    const hops = ctx.deps.hops({ gateway: lan.gateway, signal: AbortSignal.any([ctx.signal, stopHops.signal]) }).catch((): HopsFacts => ({ hops: [] }));
    const router = await ctx.deps.router(lan, { signal: ctx.signal });
    const timer = setTimeout(() => stopHops.abort(), 150);
    const seen = await hops;
    clearTimeout(timer);
    return { ...evaluateRouter(router, { forwards: ctx.config.forwards, ...(lan.address4 ? { lanAddress: lan.address4 } : {}) }), facts: { router, hops: seen } };
  },
};
