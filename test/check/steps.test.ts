import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateReach } from '../../src/check/steps/reach.js';
import { evaluateHairpin } from '../../src/check/steps/hairpin.js';
import { evaluateDns, judgeName, namesToCheck } from '../../src/check/steps/dns.js';
import { evaluateRouter } from '../../src/check/steps/router.js';
import { evaluatePublicIp } from '../../src/check/steps/publicip.js';
import { evaluateNat } from '../../src/check/steps/nat.js';
import { configSchema, type ForwardConfig } from '../../src/config/schema.js';

const ssh: ForwardConfig = { internalPort: 8022, externalPort: 2222, protocol: 'tcp', description: 'ssh', lease: 7200, via: 'auto', families: [4] };
const wg: ForwardConfig = { internalPort: 51820, externalPort: 51820, protocol: 'udp', description: 'wg', lease: 7200, via: 'auto', families: [4] };

test('reach: every forward proven → pass; echoip connect-only adds the caveat', () => {
  const ok = evaluateReach([{ forward: ssh, outcome: { ok: true, proof: 'nonce', message: 'nonce arrived', ms: 3 } }], { mode: 'probe', nat: 'single' });
  assert.equal(ok.status, 'pass');
  const weak = evaluateReach([{ forward: ssh, outcome: { ok: true, proof: 'connect', message: 'answers', ms: 3 } }], { mode: 'echoip', nat: 'single' });
  assert.equal(weak.status, 'pass');
  assert.match(weak.summary, /proves only that the port answers/);
});

test('reach: a closed forward fails with forwarding advice; behind CGNAT the advice points at the nat step', () => {
  const closed = { forward: ssh, outcome: { ok: false, proof: 'none' as const, message: 'closed', ms: 3 } };
  const r = evaluateReach([closed], { mode: 'probe', nat: 'single', lanAddress: '192.168.77.50' });
  assert.equal(r.status, 'fail');
  assert.match(r.advice ?? '', /TCP 2222 → 192\.168\.77\.50:8022/);
  assert.deepEqual(r.facts?.reach, { 'tcp/2222': false });
  assert.match(evaluateReach([closed], { mode: 'probe', nat: 'cgnat' }).advice ?? '', /CGNAT/);
});

test('reach: a UDP forward echoip cannot test is a warning that asks for our probe, not a failure', () => {
  const r = evaluateReach([
    { forward: ssh, outcome: { ok: true, proof: 'nonce', message: 'ok', ms: 1 } },
    { forward: wg, outcome: { ok: false, proof: 'none', message: 'UDP 51820 not tested', inconclusive: true, ms: 0 } },
  ], { mode: 'echoip', nat: 'single' });
  assert.equal(r.status, 'warn');
  assert.match(r.advice ?? '', /ddns probe serve/);
});

test('hairpin: no loopback is a warning with the local address; nothing testable is a skip', () => {
  assert.equal(evaluateHairpin([{ ok: true, message: 'loops' }], { hostnames: [] }).status, 'pass');
  const w = evaluateHairpin([{ ok: false, message: 'refused' }], { lanAddress: '192.168.77.50', hostnames: ['home.example.net'] });
  assert.equal(w.status, 'warn');
  assert.match(w.advice ?? '', /192\.168\.77\.50.*home\.example\.net/s);
  assert.equal(evaluateHairpin([], { hostnames: [] }).status, 'skip');
});

test('dns: stale at the authoritative server fails; a lagging resolver cache only warns; no consensus warns', () => {
  const base = { name: 'home.example.net', family: 4 as const, expect: '44.0.0.2' };
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'ns1', addresses: ['44.0.0.2'], ttl: 60 }], system: { server: 'system', addresses: ['44.0.0.2'] } }).status, 'pass');
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'ns1', addresses: ['44.0.0.9'] }], system: { server: 'system', addresses: ['44.0.0.9'] } }).status, 'fail');
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'ns1', addresses: [] }], system: { server: 'system', addresses: [] } }).status, 'fail');
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'ns1', addresses: ['44.0.0.2', '44.0.0.9'] }], system: { server: 'system', addresses: [] } }).status, 'fail');
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'ns1', addresses: ['44.0.0.2'] }], system: { server: 'system', addresses: ['44.0.0.9'], ttl: 300 } }).status, 'warn');
  assert.equal(judgeName({ ...base, expect: null, authoritative: [{ server: 'ns1', addresses: ['44.0.0.2'] }], system: { server: 'system', addresses: [] } }).status, 'warn');
  assert.equal(judgeName({ ...base, authoritative: [{ server: 'authoritative', addresses: [], error: 'timed out' }], system: { server: 'system', addresses: ['44.0.0.9'] } }).status, 'fail');
  const out = evaluateDns([{ ...base, authoritative: [{ server: 'ns1', addresses: ['44.0.0.9'] }], system: { server: 'system', addresses: [] } }]);
  assert.match(out.advice ?? '', /ddns update/);
});

test('dns: names come from every provider\'s record, each family once', () => {
  const config = configSchema.parse({
    ip: { families: [4, 6] },
    records: [
      { provider: 'duckdns', domains: ['a', 'b'], token: 't' },
      { provider: 'noip', hostname: 'h.ddns.net', username: 'u', password: 'p', families: [4] },
      { provider: 'cloudflare', zone: 'example.com', name: 'home.example.com', apiToken: 't' },
      { provider: 'dyndns2', server: 'https://dyn.example', hostname: 'h.ddns.net', username: 'u', password: 'p' },
    ],
  });
  assert.deepEqual(namesToCheck(config).map((n) => `${n.name}/${n.family}`), [
    'a.duckdns.org/4', 'a.duckdns.org/6', 'b.duckdns.org/4', 'b.duckdns.org/6', 'h.ddns.net/4', 'home.example.com/4', 'home.example.com/6', 'h.ddns.net/6',
  ]);
});

test('router: a hidden WAN address warns; nothing answering warns with hand-forward advice', () => {
  const answered = (ext: string) => ({ kind: 'answered' as const, detail: 'NAT-PMP', externalAddress: ext, noPublicAddress: ext === '', ms: 3 });
  const absent = { kind: 'absent' as const, why: 'no', ms: 3 };
  assert.equal(evaluateRouter({ gateway: 'g', upnp: absent, natpmp: answered('44.0.0.2'), pcp: absent, pcpAddressMismatch: false }, { forwards: [] }).status, 'pass');
  assert.equal(evaluateRouter({ gateway: 'g', upnp: absent, natpmp: answered(''), pcp: absent, pcpAddressMismatch: false }, { forwards: [] }).status, 'warn');
  const none = evaluateRouter({ gateway: '192.168.77.1', upnp: absent, natpmp: absent, pcp: absent, pcpAddressMismatch: false }, { forwards: [ssh], lanAddress: '192.168.77.50' });
  assert.equal(none.status, 'warn');
  assert.match(none.advice ?? '', /TCP 2222 → 192\.168\.77\.50:8022/);
});

test('publicip: disagreement and no quorum fail and show what was seen', () => {
  const c = (address: string | null, seen: string[]) => ({ 4: { family: 4 as const, address, agreeing: address ? 2 : 1, quorum: 2, sources: [], seen } });
  assert.equal(evaluatePublicIp(c('44.0.0.2', ['44.0.0.2']), [4]).status, 'pass');
  const dis = evaluatePublicIp(c(null, ['44.0.0.2', '44.0.0.3']), [4]);
  assert.equal(dis.status, 'fail');
  assert.match(dis.summary, /44\.0\.0\.2 vs 44\.0\.0\.3/);
  assert.equal(evaluatePublicIp({}, [4]).status, 'fail');
});

test('nat: cgnat fails, double and unknown warn, single and none pass', () => {
  const o = { forwards: [ssh] };
  assert.equal(evaluateNat({ nat: 'cgnat', reason: 'r' }, o).status, 'fail');
  assert.equal(evaluateNat({ nat: 'cgnat', reason: 'r', contested: true }, o).status, 'warn', 'hops alone against the router only warn');
  assert.equal(evaluateNat({ nat: 'double', reason: 'r' }, o).status, 'warn');
  assert.equal(evaluateNat({ nat: 'unknown', reason: 'r' }, o).status, 'warn');
  assert.equal(evaluateNat({ nat: 'single', reason: 'r' }, o).status, 'pass');
  assert.equal(evaluateNat({ nat: 'none', reason: 'r' }, o).status, 'pass');
});

test('publicip: a family asked only for information never fails the step', () => {
  const v4 = { family: 4 as const, address: '44.0.0.2', agreeing: 2, quorum: 2, sources: [], seen: ['44.0.0.2'] };
  const v6none = { family: 6 as const, address: null, agreeing: 0, quorum: 2, sources: [], seen: [], message: 'no source answered' };
  const r = evaluatePublicIp({ 4: v4, 6: v6none }, [4], [6]);
  assert.equal(r.status, 'pass');
  assert.match(r.summary, /IPv6: no source answered \(not configured: shown for information\)/);
  assert.equal(evaluatePublicIp({ 4: v4, 6: v6none }, [4, 6]).status, 'fail', 'a configured family must agree');
});

test('reach behind CGNAT with IPv6 through: IPv4 cannot be forwarded, IPv6 works — a warning that says so, not a failure', () => {
  const fwd = ssh;
  const v4 = { forward: fwd, family: 4 as const, address: '44.0.0.3', outcome: { ok: false, proof: 'none' as const, message: 'TCP 8022 at 44.0.0.3 is closed from outside', ms: 3 } };
  const v6ok = { forward: fwd, family: 6 as const, address: '2a0d:dd00:77::50', outcome: { ok: true, proof: 'nonce' as const, message: 'IPv6: the probe\'s nonce reached this host', ms: 3 } };
  const r = evaluateReach([v4, v6ok], { mode: 'probe', nat: 'cgnat', publishes6: true });
  assert.equal(r.status, 'warn');
  assert.match(r.summary, /^IPv4 cannot be forwarded; IPv6 works: publish AAAA — done — and use the relay for v4-only clients/);
  assert.match(evaluateReach([v4, v6ok], { mode: 'probe', nat: 'cgnat', publishes6: false }).advice ?? '', /publish AAAA \(ip\.families: \[4, 6\]\)/);
  // IPv6 failing too, or not behind CGNAT: the usual failure.
  assert.equal(evaluateReach([v4, { ...v6ok, outcome: { ...v6ok.outcome, ok: false } }], { mode: 'probe', nat: 'cgnat', publishes6: true }).status, 'fail');
  assert.equal(evaluateReach([v4, v6ok], { mode: 'probe', nat: 'single', publishes6: true }).status, 'fail');
});
