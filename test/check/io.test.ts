import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTracepath } from '../../src/check/io/hops.js';
import { parseDynamic } from '../../src/check/io/lan.js';
import { routerFacts } from '../../src/check/io/router.js';

test('tracepath output gives the hop addresses in order', () => {
  const text = ` 1?: [LOCALHOST]                      pmtu 1500
 1:  192.168.77.1                                          0.100ms
 1:  192.168.77.1                                          0.060ms
 2:  100.64.7.1                                            0.090ms
 3:  no reply
 4:  44.0.0.10                                             0.120ms reached
     Resume: pmtu 1500 hops 4 back 4
`;
  assert.deepEqual(parseTracepath(text), ['192.168.77.1', '100.64.7.1', '44.0.0.10']);
  assert.deepEqual(parseTracepath('garbage\n\n 1: [LOCALHOST] pmtu'), []);
});

test('ip -j addr: a lease lifetime means DHCP, forever means static', () => {
  const j = (extra: object) => JSON.stringify([{ ifname: 'l0', addr_info: [{ family: 'inet', local: '192.168.77.50', prefixlen: 24, ...extra }] }]);
  assert.equal(parseDynamic(j({ dynamic: true, valid_life_time: 3500 }), '192.168.77.50'), true);
  assert.equal(parseDynamic(j({ valid_life_time: 4294967295 }), '192.168.77.50'), false);
  assert.equal(parseDynamic(j({ valid_life_time: 4294967295 }), '192.168.77.99'), undefined);
  assert.equal(parseDynamic('not json', '192.168.77.50'), undefined);
});

test('router facts: a hidden WAN address counts as an answer with no public address', () => {
  const f = routerFacts('192.168.77.1', undefined, {
    upnp: { ok: false, via: 'upnp', kind: 'empty', ms: 12, why: 'none' },
    natpmp: { ok: false, via: 'natpmp', kind: 'empty', ms: 3, why: 'none' },
    pcp: { ok: false, via: 'pcp', kind: 'unsupported', ms: 3, why: 'no PCP' },
  });
  assert.equal(f.upnp.kind, 'answered');
  assert.equal(f.natpmp.kind === 'answered' && f.natpmp.noPublicAddress, true);
  assert.equal(f.pcp.kind, 'absent');
  assert.equal(f.pcpAddressMismatch, false);
});

test('router facts: PCP ADDRESS_MISMATCH is kept as the double-NAT signal', () => {
  const f = routerFacts('192.168.77.1', undefined, {
    upnp: { ok: true, via: 'upnp', address: '44.0.0.2', class: 'global', ms: 5 },
    natpmp: { ok: false, via: 'natpmp', kind: 'timeout', ms: 3, why: 'timed out' },
    pcp: { ok: false, via: 'pcp', kind: 'address-mismatch', ms: 3, why: 'ADDRESS_MISMATCH' },
  });
  assert.equal(f.pcpAddressMismatch, true);
  assert.equal(f.upnp.kind === 'answered' && f.upnp.externalAddress, '44.0.0.2');
  assert.equal(f.natpmp.kind, 'absent');
});
