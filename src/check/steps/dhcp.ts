/**
 * `dhcp`: is this host where the forwards expect it? The address vs `lan.expectAddress` (the static
 * lease), the state file's history when there is no expectation, and the router's mappings: a forward
 * aimed at an address this host no longer has is the classic "static lease not working" failure.
 */
import { expectMismatchAdvice, leaseChangedAdvice, portPairs, staleForwardAdvice } from '../advice.js';
import type { ForwardConfig } from '../../config/schema.js';
import type { LanSighting } from '../deps.js';
import type { LanFacts } from '../facts.js';
import type { Mapping } from '../../portmap/types.js';
import type { Step, StepOutcome } from '../step.js';

export interface DhcpInput {
  lan: LanFacts;
  expect?: string;
  /** Earlier sightings on this interface, oldest first. */
  history: LanSighting[];
  /** The router's mappings, when it lets us list them. */
  mappings?: Mapping[];
  forwards: readonly ForwardConfig[];
}

export interface StaleForward { protocol: 'tcp' | 'udp'; externalPort: number; internalAddress: string; internalPort: number; description: string }

/**
 * Router mappings that aim at this host's old address: those on a configured forward's external port
 * pointing elsewhere, and those pointing at the expected or an earlier address of this host.
 */
export function staleForwards(i: DhcpInput): StaleForward[] {
  const here = i.lan.address4;
  if (!here || !i.mappings) return [];
  const mine = new Set<string>([...(i.expect ? [i.expect] : []), ...i.history.map((h) => h.address)]);
  mine.delete(here);
  const wanted = new Set(portPairs(i.forwards).map((p) => `${p.protocol}/${p.externalPort}`));
  return i.mappings
    .filter((m) => m.internalAddress !== here && (mine.has(m.internalAddress) || wanted.has(`${m.protocol}/${m.externalPort}`)))
    .map((m) => ({ protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort, description: m.description }));
}

export function evaluateDhcp(i: DhcpInput): StepOutcome {
  const here = i.lan.address4;
  if (!here) return { status: 'skip', summary: 'no IPv4 address on the LAN (see the lan step)' };
  const how = i.lan.dynamic === true ? 'DHCP-assigned (the address carries a lease lifetime)'
    : i.lan.dynamic === false ? 'no lease lifetime on the address: configured statically, or by a DHCP client that sets none'
      : i.lan.missing ? `how it was assigned is unknown: ${i.lan.missing.program} is not installed (apt-get install ${i.lan.missing.debianPackage})`
        : 'how it was assigned is unknown';
  const details = [`${here} on ${i.lan.interface} (${how})`];
  if (i.mappings) {
    for (const p of portPairs(i.forwards)) {
      const m = i.mappings.find((x) => x.protocol === p.protocol && x.externalPort === p.externalPort);
      details.push(m
        ? `router: ${p.protocol.toUpperCase()} ${p.externalPort} → ${m.internalAddress}:${m.internalPort}${m.internalAddress === here ? ' (this host)' : ''}`
        : `router: no mapping for ${p.protocol.toUpperCase()} ${p.externalPort} (made by \`ddns run\` or \`ddns map add\`, or forwarded by hand where the router cannot list it)`);
    }
  }
  const stale = staleForwards(i);
  const mac = i.lan.mac ? { mac: i.lan.mac } : {};
  if (stale.length > 0) {
    const list = stale.map((s) => `${s.protocol.toUpperCase()} ${s.externalPort} → ${s.internalAddress}:${s.internalPort}${s.description ? ` (${s.description})` : ''}`).join(', ');
    return {
      status: 'fail',
      summary: `static lease not working: the router forwards ${list}, but this host is ${here}`,
      advice: staleForwardAdvice({ stale, current: here, ...(i.expect ? { expect: i.expect } : {}), ...mac }),
      details,
    };
  }
  if (i.expect) {
    if (i.expect === here) return { status: 'pass', summary: `${here} is the reserved address (lan.expectAddress)`, details };
    return {
      status: 'fail',
      summary: `static lease not working: this host has ${here}, the reserved address is ${i.expect} (lan.expectAddress)`,
      advice: expectMismatchAdvice({ current: here, expect: i.expect, ...mac }),
      details,
    };
  }
  const previous = [...i.history].reverse().find((h) => h.address !== here);
  const last = i.history[i.history.length - 1];
  if (previous && last && last.address !== here) {
    return {
      status: 'fail',
      summary: `the lease is not static: this host had ${previous.address} (${previous.at}) and has ${here} now`,
      advice: leaseChangedAdvice({ previous: previous.address, current: here, ...mac }),
      details,
    };
  }
  const seen = i.history.length > 0 ? 'same address as on earlier runs' : 'no expectation (set lan.expectAddress to the static lease to check it)';
  return { status: 'pass', summary: `${here}, ${seen}`, details };
}

export const dhcpStep: Step = {
  id: 'dhcp',
  title: 'DHCP lease',
  needs: ['lan', 'router'],
  timeoutMs: 2_000,
  async run(ctx) {
    const lan = ctx.facts.lan;
    if (!lan) return { status: 'skip', summary: 'no LAN route (see the lan step)' };
    const history = (await ctx.deps.lanHistory.read()).filter((h) => h.interface === undefined || h.interface === lan.interface);
    const out = evaluateDhcp({
      lan, history, forwards: ctx.config.forwards,
      ...(ctx.config.lan.expectAddress ? { expect: ctx.config.lan.expectAddress } : {}),
      ...(ctx.facts.router?.mappings ? { mappings: ctx.facts.router.mappings } : {}),
    });
    if (lan.address4) await ctx.deps.lanHistory.record({ interface: lan.interface, address: lan.address4, at: ctx.deps.now().toISOString() });
    return out;
  },
};
