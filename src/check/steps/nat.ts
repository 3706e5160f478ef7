/** `nat`: none / single / double / cgnat / unknown, with advice for the two that block inbound IPv4. */
import { cgnatAdvice, doubleNatAdvice, portPairs } from '../advice.js';
import type { Facts, MissingProgram } from '../facts.js';
import { natVerdict, type NatEvidence, type NatVerdict } from '../verdict/nat.js';
import type { ForwardConfig } from '../../config/schema.js';
import type { Step, StepOutcome } from '../step.js';

/** The evidence the facts hold (hops added by the step when needed). */
export function natEvidence(facts: Readonly<Facts>, hops?: string[]): NatEvidence {
  const r = facts.router;
  const probes = r ? [r.upnp, r.natpmp, r.pcp] : [];
  const answered = probes.filter((p) => p.kind === 'answered');
  return {
    ...(facts.lan?.address4 ? { hostAddress4: facts.lan.address4 } : {}),
    routerExternal: answered.map((p) => (p.kind === 'answered' ? p.externalAddress : '')),
    routerNoPublic: answered.length > 0 && answered.every((p) => p.kind === 'answered' && (p.noPublicAddress || p.externalAddress === '')),
    pcpAddressMismatch: r?.pcpAddressMismatch ?? false,
    public4: facts.publicip?.[4]?.address ?? null,
    ...(hops ? { hops } : {}),
  };
}

/** Whether the hops are worth tracing again (with the full budget): only when nothing else decides. */
export function needsHops(e: NatEvidence): boolean {
  return natVerdict(e).nat === 'unknown' && (e.hops === undefined || e.hops.length === 0);
}

export function evaluateNat(v: NatVerdict, o: { forwards: readonly ForwardConfig[]; address6?: string; lanAddress?: string }): StepOutcome {
  const ports = portPairs(o.forwards);
  switch (v.nat) {
    case 'none':
    case 'single':
      return { status: 'pass', summary: `${v.nat === 'none' ? 'no NAT' : 'single NAT'}: ${v.reason}`, facts: { nat: v } };
    case 'cgnat':
      return {
        // Against the router's own claim (hops only) it is a strong hint, not proof: warn; reach decides.
        status: v.contested ? 'warn' : 'fail',
        summary: `carrier-grade NAT: ${v.reason}`,
        advice: cgnatAdvice({ ports, ...(o.address6 ? { address6: o.address6 } : {}) }),
        facts: { nat: v },
      };
    case 'double':
      return {
        status: 'warn',
        summary: `double NAT: ${v.reason}`,
        advice: doubleNatAdvice({ ports, ...(v.routerExternal && !v.contested ? { routerWan: v.routerExternal } : {}), ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}) }),
        facts: { nat: v },
      };
    case 'unknown':
      return {
        status: 'warn',
        summary: `unknown: ${v.reason}`,
        advice: 'Look at the WAN address on the router\'s status page: 100.64.x.x means carrier-grade NAT, 10.x / 172.16–31.x / 192.168.x means another router in front of yours. Run `tracepath -n` to any internet host to see the hops.',
        facts: { nat: v },
      };
  }
}

/** An unknown verdict because the tracer is not installed says so, and what to install. */
export function withMissingTracer(out: StepOutcome, missing: MissingProgram): StepOutcome {
  return {
    ...out,
    summary: `${out.summary}; ${missing.program} is not installed, so the hops past the router were not traced`,
    advice: `Install ${missing.program} (Debian/Ubuntu: apt-get install ${missing.debianPackage}; elsewhere the iputils package) and run ddns check again: the hops past the router tell carrier-grade NAT from double NAT.`,
    details: [...(out.details ?? []), `${missing.program}: not found on PATH`],
  };
}

/** Behind a NAT that blocks inbound IPv4, a working relay tunnel carries the traffic instead: warn, not fail. */
export function withRelay(out: StepOutcome, relayOk: boolean): StepOutcome {
  const nat = out.facts?.nat?.nat;
  if (!relayOk || (nat !== 'cgnat' && nat !== 'double')) return out;
  return {
    ...out,
    status: 'warn',
    summary: `${out.summary} — the relay carries the traffic`,
    advice: 'Nothing to forward: inbound connections arrive through the tunnel to your relay (see the relay step). Publish the relay\'s address for them (target: relay on the record).',
  };
}

export const natStep: Step = {
  id: 'nat',
  title: 'NAT topology',
  needs: ['lan', 'router', 'publicip'],
  after: ['relay'],
  timeoutMs: 4_000,
  async run(ctx) {
    let e = natEvidence(ctx.facts, ctx.facts.hops?.hops);
    let missing = ctx.facts.hops?.missing;
    if (needsHops(e) && ctx.facts.lan && !missing) {
      const traced = await ctx.deps.hops({ gateway: ctx.facts.lan.gateway, signal: ctx.signal });
      e = natEvidence(ctx.facts, traced.hops);
      missing = traced.missing;
    }
    const v = natVerdict(e);
    const out = evaluateNat(v, {
      forwards: ctx.config.forwards,
      ...(ctx.facts.lan?.address6 ? { address6: ctx.facts.lan.address6 } : {}),
      ...(ctx.facts.lan?.address4 ? { lanAddress: ctx.facts.lan.address4 } : {}),
    });
    if (v.nat === 'unknown' && missing) return withMissingTracer(out, missing);
    let result = e.hops ? { ...out, details: [...(out.details ?? []), `hops past the gateway: ${e.hops.join(' → ') || 'none seen'}`] } : out;
    if (ctx.config.tunnels.length > 0 && (v.nat === 'cgnat' || v.nat === 'double')) {
      await ctx.settled('relay');
      result = withRelay(result, ctx.facts.relay?.ok === true);
    }
    return result;
  },
};
