/**
 * `reach`: for each forward, the probe connects from outside to public-address:externalPort (and checks
 * the record's hostname from outside). Own probe: the nonce must arrive here, or the service's first
 * line must match. Default (no probe.url): echoip, which proves only that the port answers.
 */
import { ECHOIP_CAVEAT, portPairs, unreachableAdvice } from '../advice.js';
import type { ForwardConfig } from '../../config/schema.js';
import type { ReachOutcome } from '../deps.js';
import { skip, type Step, type StepOutcome } from '../step.js';
import { recordNames } from './dns.js';

export interface ForwardReach { forward: ForwardConfig; outcome: ReachOutcome }

export function evaluateReach(list: ForwardReach[], o: { mode: 'probe' | 'echoip'; nat: string; lanAddress?: string }): StepOutcome {
  const key = (f: ForwardConfig) => `${f.protocol}/${f.externalPort ?? f.internalPort}`;
  const reach = Object.fromEntries(list.map((x) => [key(x.forward), x.outcome.ok]));
  const failed = list.filter((x) => !x.outcome.ok && !x.outcome.inconclusive);
  const untested = list.filter((x) => x.outcome.inconclusive);
  const details = list.map((x) => `${x.forward.protocol.toUpperCase()} ${x.forward.externalPort ?? x.forward.internalPort} (${x.forward.description}): ${x.outcome.ok ? 'ok' : 'FAILED'} — ${x.outcome.message} [${x.outcome.proof}, ${x.outcome.ms} ms]`);
  if (failed.length > 0) {
    const advice = failed.map((x) => unreachableAdvice({ pair: portPairs([x.forward])[0]!, nat: o.nat, ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}) }));
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
      advice: o.mode === 'echoip'
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

async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

export const reachStep: Step = {
  id: 'reach',
  title: 'reachability from outside',
  needs: ['publicip', 'nat', 'lan'],
  timeoutMs: 8_000,
  async run(ctx) {
    const forwards = ctx.config.forwards.slice(0, 16);
    if (forwards.length === 0) return skip('no forwards configured', 'forwards');
    const public4 = ctx.facts.publicip?.[4]?.address;
    if (!public4) return { status: 'fail', summary: 'no public IPv4 address to test from outside (see the publicip step)', advice: 'Fix the publicip step first.' };
    const reach = ctx.deps.reach(ctx.config.probe);
    const hostname = ctx.config.records.flatMap((r) => recordNames(r, ctx.config.ip.families)).find((n) => n.families.includes(4))?.name;
    const lanAddress = ctx.facts.lan?.address4;
    const list = await pool(forwards, 3, async (forward): Promise<ForwardReach> => ({
      forward,
      outcome: await reach.check({ forward, address: public4, family: 4, ...(hostname && reach.mode === 'probe' ? { hostname } : {}), ...(lanAddress ? { lanAddress } : {}) }, { signal: ctx.signal }),
    }));
    return evaluateReach(list, { mode: reach.mode, nat: ctx.facts.nat?.nat ?? 'unknown', ...(lanAddress ? { lanAddress } : {}) });
  },
};
