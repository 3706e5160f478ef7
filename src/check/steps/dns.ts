/**
 * `dns`: each record's A/AAAA at the zone's authoritative servers (found through NS lookups, asked
 * directly) and at the system resolver, vs the public address. A stale authoritative value fails with
 * "run `ddns update`"; a resolver still caching the old value only warns (it expires within its TTL).
 */
import { staleRecordAdvice } from '../advice.js';
import type { Config, RecordConfig } from '../../config/schema.js';
import type { Family } from '../../net/address.js';
import type { DnsAnswer } from '../deps.js';
import { skip, type Step, type StepOutcome } from '../step.js';

/** The hostnames a record publishes, with the families it serves. */
export function recordNames(r: RecordConfig, families: readonly Family[]): Array<{ name: string; families: Family[] }> {
  const fams = [...(r.families ?? families)];
  switch (r.provider) {
    case 'duckdns': return r.domains.map((d) => ({ name: `${d}.duckdns.org`, families: fams }));
    case 'cloudflare': return [{ name: r.name, families: fams }];
    default: return [{ name: 'hostname' in r ? r.hostname : r.name, families: fams }];
  }
}

export interface NameCheck {
  name: string;
  family: Family;
  /** The public address of that family, or null when there is no consensus. */
  expect: string | null;
  authoritative: DnsAnswer[];
  system: DnsAnswer;
}

type Verdict = { status: 'pass' | 'warn' | 'fail'; line: string };

const rr = (f: Family) => (f === 4 ? 'A' : 'AAAA');
const list = (a: string[]) => (a.length ? a.join(', ') : 'nothing');
const ttl = (a: DnsAnswer) => (a.ttl !== undefined ? `, TTL ${a.ttl} s` : '');

export function judgeName(c: NameCheck): Verdict {
  const t = `${c.name} ${rr(c.family)}`;
  const auth = c.authoritative.find((a) => !a.error) ?? c.authoritative.find((a) => a.addresses.length > 0);
  const sys = c.system;
  if (c.expect === null) {
    const seen = auth?.addresses ?? sys.addresses;
    return { status: 'warn', line: `${t} is ${list(seen)}; no public IPv${c.family} address to compare (see the publicip step)` };
  }
  const good = (a: string[]) => a.length > 0 && a.every((x) => x === c.expect);
  if (auth && !auth.error) {
    if (!good(auth.addresses)) {
      return { status: 'fail', line: `${t} is ${list(auth.addresses)} at its authoritative server ${auth.server}${ttl(auth)}, but the public address is ${c.expect}` };
    }
    if (!sys.error && !good(sys.addresses)) {
      return { status: 'warn', line: `${t} is ${c.expect} at ${auth.server}, but the system resolver still answers ${list(sys.addresses)}${ttl(sys)} (a cache: it expires within the TTL)` };
    }
    return { status: 'pass', line: `${t} ${c.expect} at ${auth.server}${ttl(auth)}${sys.error ? '' : ' and the resolver'}` };
  }
  const why = auth?.error ?? c.authoritative[0]?.error ?? 'no authoritative server answered';
  if (!sys.error && good(sys.addresses)) return { status: 'warn', line: `${t} ${c.expect} at the resolver; the authoritative servers were not reachable (${why})` };
  if (!sys.error) return { status: 'fail', line: `${t} is ${list(sys.addresses)} at the resolver${ttl(sys)}, but the public address is ${c.expect} (authoritative servers: ${why})` };
  return { status: 'warn', line: `${t}: no answer (authoritative: ${why}; resolver: ${sys.error})` };
}

export function evaluateDns(checks: NameCheck[]): StepOutcome {
  const v = checks.map(judgeName);
  const worst = v.some((x) => x.status === 'fail') ? 'fail' : v.some((x) => x.status === 'warn') ? 'warn' : 'pass';
  const shown = worst === 'pass' ? v : v.filter((x) => x.status !== 'pass');
  const summary = shown.map((x) => x.line).join('; ');
  if (worst === 'pass') return { status: 'pass', summary };
  const stale = v.some((x) => x.status === 'fail');
  return {
    status: worst, summary,
    advice: stale ? staleRecordAdvice() : 'Wait for the resolver cache to expire (the TTL), or check that the zone\'s name servers are reachable from here.',
    details: v.map((x) => `${x.status}: ${x.line}`),
  };
}

export function namesToCheck(config: Config): Array<{ name: string; family: Family }> {
  const seen = new Set<string>();
  const out: Array<{ name: string; family: Family }> = [];
  for (const r of config.records) {
    for (const n of recordNames(r, config.ip.families)) {
      for (const f of n.families) {
        const k = `${n.name.toLowerCase()}/${f}`;
        if (!seen.has(k)) { seen.add(k); out.push({ name: n.name, family: f }); }
      }
    }
  }
  return out;
}

export const dnsStep: Step = {
  id: 'dns',
  title: 'DNS records',
  needs: ['publicip'],
  timeoutMs: 4_000,
  async run(ctx) {
    if (ctx.config.records.length === 0) return skip('no records configured', 'records');
    const names = namesToCheck(ctx.config).slice(0, 32);
    const checks = await Promise.all(names.map(async ({ name, family }): Promise<NameCheck> => {
      const [authoritative, system] = await Promise.all([
        ctx.deps.dns.authoritative(name, family, { signal: ctx.signal }),
        ctx.deps.dns.system(name, family, { signal: ctx.signal }),
      ]);
      return { name, family, expect: ctx.facts.publicip?.[family]?.address ?? null, authoritative, system };
    }));
    return evaluateDns(checks);
  },
};
