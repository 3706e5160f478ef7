/**
 * `reach`: for each forward, the probe connects from outside to public-address:externalPort (and checks
 * the record's hostname from outside). Own probe: the nonce must arrive here, or the service's first
 * line must match. Default (no probe.url): echoip, which proves only that the port answers.
 */
import { groupBy, mapLimit } from '../../net/concurrency.js';
import { ECHOIP_CAVEAT, portPairs, unreachableAdvice } from '../advice.js';
import type { ForwardConfig } from '../../config/schema.js';
import type { ReachOutcome } from '../deps.js';
import { skip, type Step, type StepOutcome } from '../step.js';
import { recordNames } from './dns.js';

/** One test: a forward over one family (IPv6: no NAT, so the probe aims at the internal port). */
export interface ForwardReach { forward: ForwardConfig; family?: 4 | 6; address?: string; outcome: ReachOutcome }

/**
 * Behind CGNAT with IPv6 through: the one-line verdict (IPv4 cannot be forwarded; IPv6 works), or
 * undefined when that is not the situation.
 */
export function cgnatV6Verdict(list: readonly ForwardReach[], o: { nat: string; publishes6?: boolean }): string | undefined {
  if (o.nat !== 'cgnat') return undefined;
  const v6 = list.filter((x) => x.family === 6);
  if (v6.length === 0 || !v6.every((x) => x.outcome.ok)) return undefined;
  return `IPv4 cannot be forwarded; IPv6 works: publish AAAA${o.publishes6 ? ' — done —' : ' (ip.families: [4, 6]) —'} and use the relay for v4-only clients`;
}

export function evaluateReach(list: ForwardReach[], o: { mode: 'probe' | 'echoip'; nat: string; lanAddress?: string; publishes6?: boolean }): StepOutcome {
  const key = (f: ForwardConfig) => `${f.protocol}/${f.externalPort ?? f.internalPort}`;
  const reach = Object.fromEntries(list.filter((x) => (x.family ?? 4) === 4).map((x) => [key(x.forward), x.outcome.ok]));
  const failed = list.filter((x) => !x.outcome.ok && !x.outcome.inconclusive);
  const untested = list.filter((x) => x.outcome.inconclusive);
  const details = [...(o.mode === 'echoip' ? [ECHOIP_CAVEAT] : []), ...list.map((x) => `${x.family === 6 ? 'IPv6 ' : ''}${x.forward.protocol.toUpperCase()} ${x.forward.externalPort ?? x.forward.internalPort} (${x.forward.description}): ${x.outcome.ok ? 'ok' : x.outcome.inconclusive ? 'not tested' : 'FAILED'} — ${x.outcome.message} [${x.outcome.proof}, ${x.outcome.ms} ms]`)];
  const v6Works = cgnatV6Verdict(list, o);
  if (v6Works && failed.every((x) => (x.family ?? 4) === 4)) {
    // CGNAT: IPv4 inbound is impossible, not misconfigured; IPv6 carries the service.
    return { status: 'warn', summary: `${v6Works}. ${list.filter((x) => x.family === 6).map((x) => x.outcome.message).join('; ')}`, advice: v6Works, details, facts: { reach } };
  }
  if (failed.length > 0) {
    const advice = failed.map((x) => unreachableAdvice({
      pair: portPairs([x.forward])[0]!, nat: o.nat, ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}),
      ...(x.family === 6 ? { family: 6 as const, ...(x.address ? { address6: x.address } : {}) } : {}),
    }));
    return {
      status: 'fail',
      summary: failed.map((x) => x.outcome.message).join('; '),
      advice: [...new Set(advice)].join('\n'),
      details,
      facts: { reach },
    };
  }
  const weak = list.some((x) => x.outcome.proof === 'connect');
  const summary = list.map((x) => x.outcome.message).join('; ');
  if (untested.length > 0) {
    return {
      status: 'warn', summary, details, facts: { reach },
      advice: untested.some((x) => /could not ask/.test(x.outcome.message))
        ? (o.mode === 'echoip' ? 'ifconfig.co did not answer: check the outbound connection, or run your own `ddns probe serve` and set probe.url.' : 'The probe did not answer: check that `ddns probe serve` runs at probe.url and that this host can reach it.')
        : o.mode === 'echoip'
          ? 'Run `ddns probe serve` on a machine outside (a VPS) and set probe.url and probe.token: it tests UDP forwards with a nonce datagram, and proves TCP ones reach this host.'
          : 'Stop the service on that UDP port briefly and run `ddns check` again, so the probe\'s datagram can be caught here.',
    };
  }
  return {
    status: 'pass',
    summary: o.mode === 'echoip' && weak ? `${summary}. ${ECHOIP_CAVEAT}` : summary,
    details,
    facts: { reach },
  };
}

export const reachStep: Step = {
  id: 'reach',
  title: 'reachability from outside',
  needs: ['publicip', 'lan'],
  // The probe runs while the router is still being asked; the NAT verdict only shapes the advice.
  after: ['nat'],
  timeoutMs: 8_000,
  async run(ctx) {
    const forwards = ctx.config.forwards.slice(0, 16);
    if (forwards.length === 0) return skip('no forwards configured', 'forwards');
    const families = ctx.config.ip.families;
    const public4 = families.includes(4) ? ctx.facts.publicip?.[4]?.address : undefined;
    const public6 = families.includes(6) ? ctx.facts.publicip?.[6]?.address : undefined;
    if (!public4 && !public6) return { status: 'fail', summary: 'no public address to test from outside (see the publicip step)', advice: 'Fix the publicip step first.' };
    const reach = ctx.deps.reach(ctx.config.probe);
    const names = ctx.config.records.flatMap((r) => recordNames(r, families));
    const hostnameFor = (f: 4 | 6) => (reach.mode === 'probe' ? names.find((n) => n.families.includes(f))?.name : undefined);
    const lanAddress = ctx.facts.lan?.address4;
    const jobs: Array<{ forward: ForwardConfig; family: 4 | 6; address: string }> = [
      // A forward with `families: [6]` has no IPv4 mapping to test.
      ...(public4 ? forwards.filter((f) => (f.families ?? [4]).includes(4)).map((forward) => ({ forward, family: 4 as const, address: public4 })) : []),
      // IPv6 is routed, not NAT'd: the probe aims at the host's own port.
      ...(public6 ? forwards.map((forward) => ({ forward: { ...forward, externalPort: forward.internalPort }, family: 6 as const, address: public6 })) : []),
    ];
    // One at a time per port: the nonce listener holds the internal port for the test's duration.
    const byPort = groupBy(jobs, (j) => `${j.forward.protocol}/${j.forward.internalPort}`);
    const lists = await mapLimit([...byPort.values()], 3, async (group) => {
      const out: ForwardReach[] = [];
      for (const j of group) {
        const hostname = hostnameFor(j.family);
        const source = j.family === 6 && ctx.facts.publicip?.[6]?.local ? j.address : undefined;
        const outcome = await reach.check({ forward: j.forward, address: j.address, family: j.family, ...(hostname ? { hostname } : {}), ...(lanAddress ? { lanAddress } : {}), ...(source ? { source } : {}) }, { signal: ctx.signal });
        out.push({ ...j, outcome: j.family === 6 ? { ...outcome, message: `IPv6: ${outcome.message}` } : outcome });
      }
      return out;
    });
    const list = lists.flat();
    await ctx.settled('nat');
    const publishes6 = ctx.config.records.some((r) => (r.families ?? ctx.config.ip.families).includes(6));
    return evaluateReach(list, { mode: reach.mode, nat: ctx.facts.nat?.nat ?? 'unknown', publishes6, ...(lanAddress ? { lanAddress } : {}) });
  },
};
