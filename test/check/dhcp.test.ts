import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateDhcp, type DhcpInput } from '../../src/check/steps/dhcp.js';
import type { ListedMapping } from '../../src/portmap/types.js';

const lan = { interface: 'l0', gateway: '192.168.77.1', address4: '192.168.77.50', prefixLength4: 24, mac: '02:00:00:00:00:50' };
const ssh = { internalPort: 22, externalPort: 2222, protocol: 'tcp' as const, description: 'ssh', lease: 7200, via: 'auto' as const, families: [4] as Array<4 | 6> };
const mapping = (internalAddress: string, externalPort = 2222): ListedMapping => ({
  via: 'upnp', protocol: 'tcp', externalPort, internalAddress, internalPort: 22, description: 'ssh', leaseSeconds: 3600, ours: false, enabled: true,
});
const input = (x: Partial<DhcpInput>): DhcpInput => ({ lan, history: [], forwards: [], ...x });

test('dhcp passes when the address is the reserved one', () => {
  const r = evaluateDhcp(input({ expect: '192.168.77.50' }));
  assert.equal(r.status, 'pass');
});

test('dhcp fails when the address is not lan.expectAddress, naming both', () => {
  const r = evaluateDhcp(input({ lan: { ...lan, address4: '192.168.77.123' }, expect: '192.168.77.50' }));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /192\.168\.77\.123.*192\.168\.77\.50/);
  assert.match(r.advice ?? '', /02:00:00:00:00:50/);
});

test('dhcp fails naming the router forward that still aims at the old address', () => {
  const r = evaluateDhcp(input({ lan: { ...lan, address4: '192.168.77.123' }, forwards: [ssh], mappings: [mapping('192.168.77.50')] }));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /static lease not working: the router forwards TCP 2222 → 192\.168\.77\.50:22/);
  assert.match(r.summary, /this host is 192\.168\.77\.123/);
});

test('dhcp names a forward aimed at an earlier address of this host even when it is not configured', () => {
  const r = evaluateDhcp(input({ lan: { ...lan, address4: '192.168.77.123' }, history: [{ address: '192.168.77.50', interface: 'l0', at: '2026-11-21T00:00:00Z' }], mappings: [mapping('192.168.77.50', 8080)] }));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /TCP 8080 → 192\.168\.77\.50:22/);
});

test('dhcp ignores other hosts\' mappings on ports we do not forward', () => {
  const r = evaluateDhcp(input({ forwards: [ssh], mappings: [mapping('192.168.77.50'), mapping('192.168.77.60', 8080)] }));
  assert.equal(r.status, 'pass');
});

test('dhcp without an expectation fails when the address changed since an earlier run', () => {
  const r = evaluateDhcp(input({ lan: { ...lan, address4: '192.168.77.140' }, history: [{ address: '192.168.77.120', at: '2026-11-21T00:00:00Z' }] }));
  assert.equal(r.status, 'fail');
  assert.match(r.summary, /not static.*192\.168\.77\.120.*192\.168\.77\.140/);
});

test('dhcp without an expectation passes when the address is the one seen before', () => {
  const r = evaluateDhcp(input({ history: [{ address: '192.168.77.50', at: '2026-11-21T00:00:00Z' }] }));
  assert.equal(r.status, 'pass');
  assert.match(r.summary, /same address/);
});

test('dhcp with no expectation and no history passes and says how to check the lease', () => {
  const r = evaluateDhcp(input({}));
  assert.equal(r.status, 'pass');
  assert.match(r.summary, /lan\.expectAddress/);
});

test('dhcp details say where each configured forward points on the router', () => {
  const r = evaluateDhcp(input({ forwards: [ssh, { ...ssh, externalPort: 2223 }], mappings: [mapping('192.168.77.50')] }));
  assert.equal(r.status, 'pass');
  assert.ok(r.details?.includes('router: TCP 2222 → 192.168.77.50:22 (this host)'), JSON.stringify(r.details));
  assert.ok(r.details?.some((d) => /no mapping for TCP 2223/.test(d)));
});
