/** The human rendering of `ddns ip`: verdicts, the router's view and what a difference means. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderIpReport, routerNote } from '../../src/cli/render/ip.js';
import { paint } from '../../src/cli/output.js';
import type { FamilyResult } from '../../src/publicip/detect.js';
import type { SourceReport } from '../../src/publicip/consensus.js';

const p = paint(false);
const src = (id: string, over: Partial<SourceReport>): SourceReport => ({ id, type: 'http', operator: id, vantage: 'outside', status: 'agreed', address: '44.0.0.3', error: null, ms: 12, ...over });

const agreed: FamilyResult = {
  family: 4, address: '44.0.0.3', agreeing: ['a', 'b'], operators: ['a', 'b'], verdict: 'agreed', message: '2 independent operator(s) agree (a, b)', quorum: 2, ms: 40,
  sources: [src('a', {}), src('b', {}), src('c', { status: 'failed', address: null, error: 'answered 100.64.1.1, a carrier-grade NAT address', kind: 'invalid', rejected: '100.64.1.1' }), src('d', { status: 'skipped', address: null, ms: null })],
};

test('renders the agreed address, every asked source and a count of the ones not asked', () => {
  const out = renderIpReport({ '4': agreed }, p);
  assert.match(out, /^IPv4 {2}44\.0\.0\.3 {2}2 independent operator/m);
  assert.match(out, /c .*100\.64\.1\.1 .*invalid: answered 100\.64\.1\.1/);
  assert.doesNotMatch(out, /^ {2}d /m);
  assert.match(out, /1 more source\(s\) not asked/);
  assert.match(renderIpReport({ '4': agreed }, p, { verbose: true }), /^ {2}d .*not asked/m);
});

test('renders "unknown" with the reason when there is no quorum', () => {
  const out = renderIpReport({ '6': { ...agreed, family: 6, address: null, verdict: 'disagreement', message: 'sources disagree: x vs y' } }, p);
  assert.match(out, /^IPv6 {2}unknown {2}sources disagree/m);
});

test('explains a router that reports no address while the outside sees one (CGNAT / double NAT)', () => {
  const f: FamilyResult = { ...agreed, router: { address: null, via: 'natpmp', error: 'NAT-PMP result 3', ms: 5 } };
  assert.match(routerNote(f) ?? '', /behind another NAT/);
  assert.match(renderIpReport({ '4': f }, p), /router \(natpmp\): no address — NAT-PMP result 3/);
});

test('explains a router reporting a CGNAT address, and a router whose public address differs from the outside view', () => {
  const cg: FamilyResult = { ...agreed, router: { address: null, reported: '100.64.7.2', class: 'cgnat', via: 'upnp', error: 'x', ms: 5 } };
  assert.match(routerNote(cg) ?? '', /100\.64\.7\.2 \(cgnat\).*44\.0\.0\.3/);
  const vpn: FamilyResult = { ...agreed, router: { address: '44.0.0.9', via: 'upnp', error: null, ms: 5 } };
  assert.match(routerNote(vpn) ?? '', /reports 44\.0\.0\.9 but the outside sees 44\.0\.0\.3/);
});

test('says nothing when the router agrees with the outside or does not answer at all', () => {
  assert.equal(routerNote({ ...agreed, router: { address: '44.0.0.3', via: 'natpmp', error: null, ms: 5 } }), undefined);
  assert.equal(routerNote({ ...agreed, router: { address: null, via: null, error: 'no router answers NAT-PMP or UPnP', ms: 5 } }), undefined);
});

test('IPv6: shows the published stable address, the temporary one the outside sees, and why', () => {
  const temp = '2a0d:dd00:77:0:3c5e:1a77:b2c4:d9e1';
  const f: FamilyResult = {
    ...agreed, family: 6, address: '2a0d:dd00:77::50', message: '2 agree; published: 2a0d:dd00:77::50 (stable)',
    stable: { observed: temp, address: '2a0d:dd00:77::50', kind: 'replaced', ifname: 'l0', why: `the outside sees ${temp}, a temporary address of this host on l0 (outgoing connections use it); a server publishes the stable address of the same /64: 2a0d:dd00:77::50` },
  };
  const out = renderIpReport({ '6': f }, p);
  assert.match(out, /^IPv6 {2}2a0d:dd00:77::50 /m);
  assert.match(out, /seen from outside: 2a0d:dd00:77:0:3c5e:1a77:b2c4:d9e1 \(temporary: published 2a0d:dd00:77::50 instead\)/);
  assert.match(out, /a temporary address of this host on l0/);
});
