/** `lan`: the interface and address that route to the default gateway; a global IPv6 address if any. */
import type { LanFacts } from '../facts.js';
import type { Step, StepOutcome } from '../step.js';

export function evaluateLan(lan: LanFacts): StepOutcome {
  const v4 = lan.address4 ? `${lan.address4}${lan.prefixLength4 !== undefined ? `/${lan.prefixLength4}` : ''}` : 'no IPv4 address';
  const v6 = lan.address6 ? `; IPv6 ${lan.address6}` : '; no global IPv6';
  if (!lan.address4) {
    return {
      status: 'fail',
      summary: `${lan.interface} routes to gateway ${lan.gateway} but holds no IPv4 address in its subnet${v6}`,
      advice: `Check the network settings of ${lan.interface}: it has a default route but no address on the gateway's subnet (renew the DHCP lease).`,
      facts: { lan },
    };
  }
  return { status: 'pass', summary: `${lan.interface} ${v4} → gateway ${lan.gateway}${v6}`, facts: { lan } };
}

export const lanStep: Step = {
  id: 'lan',
  title: 'LAN address and gateway',
  needs: [],
  timeoutMs: 2_000,
  async run(ctx) {
    const r = await ctx.deps.lan({ ...(ctx.config.lan.interface ? { interface: ctx.config.lan.interface } : {}), signal: ctx.signal });
    if (!r.ok) {
      return {
        status: 'fail',
        summary: r.why,
        advice: 'This host has no default route: connect it to the network (cable/Wi-Fi) and make sure DHCP gave it an address and a gateway.',
      };
    }
    return evaluateLan(r.lan);
  },
};
