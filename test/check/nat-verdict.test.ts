import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natVerdict, type Nat, type NatEvidence } from '../../src/check/verdict/nat.js';

const base: NatEvidence = { routerExternal: [], routerNoPublic: false, pcpAddressMismatch: false, public4: null };

const cases: Array<[string, Partial<NatEvidence>, Nat]> = [
  ['a host holding the public address itself has no NAT', { hostAddress4: '44.0.0.9', public4: '44.0.0.9' }, 'none'],
  ['a global host address the outside has not confirmed still means no NAT', { hostAddress4: '44.0.0.9' }, 'none'],
  ['a global host address that the outside sees differently is not "none"', { hostAddress4: '44.0.0.9', public4: '44.0.0.77', routerExternal: ['44.0.0.77'] }, 'single'],
  ['a host address in 100.64/10 is CGNAT', { hostAddress4: '100.70.1.2' }, 'cgnat'],
  ['router WAN in 100.64/10 is CGNAT', { hostAddress4: '192.168.1.5', routerExternal: ['100.64.7.2'], public4: '44.0.0.3' }, 'cgnat'],
  ['router WAN at the top of 100.64/10 is CGNAT', { hostAddress4: '192.168.1.5', routerExternal: ['100.127.255.254'] }, 'cgnat'],
  ['100.128.0.1 is outside 100.64/10: global, single', { hostAddress4: '192.168.1.5', routerExternal: ['100.128.0.1'], public4: '100.128.0.1' }, 'single'],
  ['router WAN in 10/8 is double NAT', { hostAddress4: '192.168.1.5', routerExternal: ['10.0.0.2'] }, 'double'],
  ['router WAN in 172.16/12 is double NAT', { hostAddress4: '192.168.1.5', routerExternal: ['172.20.0.2'] }, 'double'],
  ['router WAN in 192.168/16 is double NAT', { hostAddress4: '192.168.77.50', routerExternal: ['192.168.1.2'], public4: '44.0.0.4' }, 'double'],
  ['router WAN equal to the consensus is single NAT', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.2'], public4: '44.0.0.2' }, 'single'],
  ['router WAN global but different from the consensus is an upstream NAT', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.2'], public4: '44.0.0.99' }, 'double'],
  ['router WAN global with no consensus is single (unconfirmed)', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.2'] }, 'single'],
  ['PCP ADDRESS_MISMATCH is double NAT even with a global router answer', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.2'], public4: '44.0.0.2', pcpAddressMismatch: true }, 'double'],
  ['an empty router answer is skipped for the next protocol\'s', { hostAddress4: '192.168.77.50', routerExternal: ['', '44.0.0.2'], public4: '44.0.0.2' }, 'single'],
  ['0.0.0.0 from the router counts as no answer', { hostAddress4: '192.168.77.50', routerExternal: ['0.0.0.0'], routerNoPublic: true }, 'unknown'],
  ['hidden WAN with a 100.64 hop is CGNAT', { hostAddress4: '192.168.77.50', routerExternal: [''], routerNoPublic: true, hops: ['100.64.7.1', '44.0.0.3'] }, 'cgnat'],
  ['hidden WAN with a private hop is double NAT', { hostAddress4: '192.168.77.50', routerExternal: [''], routerNoPublic: true, hops: ['192.168.1.1'] }, 'double'],
  ['hidden WAN with a global hop stays unknown (the router says it has no public address)', { hostAddress4: '192.168.77.50', routerExternal: [''], routerNoPublic: true, hops: ['44.0.0.10'] }, 'unknown'],
  ['a silent router with a global first hop is single NAT', { hostAddress4: '192.168.77.50', hops: ['44.0.0.10'] }, 'single'],
  ['a silent router with a CGNAT hop is CGNAT', { hostAddress4: '192.168.77.50', hops: ['100.100.0.1'] }, 'cgnat'],
  ['a silent router and no hops is unknown', { hostAddress4: '192.168.77.50', hops: [] }, 'unknown'],
  ['garbage hops are ignored', { hostAddress4: '192.168.77.50', hops: ['no-reply', '192.168.1.1'] }, 'double'],
  ['a documentation router answer falls back to hops', { hostAddress4: '192.168.77.50', routerExternal: ['192.0.2.7'], hops: ['100.64.0.1'] }, 'cgnat'],
  ['a router claiming the consensus address with a private hop past it is double NAT (miniupnpd with STUN)', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.4'], public4: '44.0.0.4', hops: ['192.168.1.1', '44.0.0.10'] }, 'double'],
  ['a router claiming a global address with a 100.64 hop past it is CGNAT (contested)', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.3'], hops: ['100.64.7.1'] }, 'cgnat'],
  ['a router with a global address and a global hop is single NAT', { hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.2'], public4: '44.0.0.2', hops: ['44.0.0.10'] }, 'single'],
  ['a documentation router answer without hops is unknown', { hostAddress4: '192.168.77.50', routerExternal: ['198.51.100.1'] }, 'unknown'],
];

for (const [name, e, want] of cases) {
  test(`nat verdict: ${name}`, () => {
    const v = natVerdict({ ...base, ...e });
    assert.equal(v.nat, want, v.reason);
    assert.ok(v.reason.length > 10);
  });
}

test('nat verdict names the address that proved CGNAT', () => {
  const v = natVerdict({ ...base, hostAddress4: '192.168.77.50', routerExternal: ['100.64.7.2'] });
  assert.equal(v.evidence, '100.64.7.2');
  assert.match(v.reason, /100\.64\.7\.2/);
});

test('nat verdict against the router\'s own claim is marked contested; from the router\'s own WAN address it is not', () => {
  assert.equal(natVerdict({ ...base, hostAddress4: '192.168.77.50', routerExternal: ['44.0.0.4'], public4: '44.0.0.4', hops: ['192.168.1.1'] }).contested, true);
  assert.equal(natVerdict({ ...base, hostAddress4: '192.168.77.50', routerExternal: ['100.64.7.2'] }).contested, undefined);
});
