import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgnatAdvice, doubleNatAdvice, hairpinAdvice, noPortmapAdvice, portPairs, staleForwardAdvice, unreachableAdvice } from '../../src/check/advice.js';

const ssh = portPairs([{ internalPort: 22, externalPort: 2222, protocol: 'tcp', description: 'ssh', lease: 7200, via: 'auto', families: [4] }]);

test('CGNAT advice shows the tunnels configuration with the user\'s ports, and the relay\'s permitlisten', () => {
  const a = cgnatAdvice({ ports: ssh });
  assert.match(a, /\n {7}tunnels:\n {9}- relay: "tunnel@your-vps:22"\n/);
  assert.match(a, /hostKey: "ssh-ed25519 /);
  assert.match(a, /- \{ remotePort: 2222, localPort: 22 \}/);
  assert.match(a, /permitlisten="0\.0\.0\.0:2222"/);
  assert.match(a, /GatewayPorts clientspecified/);
  assert.match(a, /IPv6/);
  assert.match(a, /public IPv4/);
  assert.doesNotMatch(a, /example ports/);
});

test('CGNAT advice names this host\'s IPv6 address when it has one', () => {
  assert.match(cgnatAdvice({ ports: ssh, address6: '2a0d:dd00:77::50' }), /2a0d:dd00:77::50.*TCP 2222/);
});

test('CGNAT advice without forwards says its ports are examples', () => {
  assert.match(cgnatAdvice({ ports: [] }), /example ports/);
});

test('CGNAT advice sends UDP forwards to WireGuard, not ssh', () => {
  const a = cgnatAdvice({ ports: [{ protocol: 'udp', internalPort: 51820, externalPort: 51820 }] });
  assert.match(a, /UDP \(51820\)/);
  assert.doesNotMatch(a, /tunnels:/);
});

test('double NAT advice names the router WAN address and the ports', () => {
  const a = doubleNatAdvice({ ports: ssh, routerWan: '192.168.1.2', lanAddress: '192.168.77.50' });
  assert.match(a, /forward TCP 2222 to 192\.168\.1\.2/);
  assert.match(a, /bridge mode/);
});

test('no-portmap advice lists the forwards to make by hand', () => {
  assert.match(noPortmapAdvice({ ports: ssh, gateway: '192.168.77.1', lanAddress: '192.168.77.50' }), /TCP 2222 → 192\.168\.77\.50:22/);
  assert.match(noPortmapAdvice({ ports: [], gateway: '192.168.77.1' }), /e\.g\. TCP 2222/);
});

test('stale forward advice names the reserved address and the re-pointing command', () => {
  const a = staleForwardAdvice({ stale: [{ protocol: 'tcp', externalPort: 2222, internalAddress: '192.168.77.50', internalPort: 22 }], current: '192.168.77.123', mac: '02:00:00:00:00:50' });
  assert.match(a, /reserve 192\.168\.77\.50 for this host \(MAC 02:00:00:00:00:50\)/);
  assert.match(a, /ddns map add 22 --external 2222 --protocol tcp/);
});

test('hairpin advice offers the local address and split DNS for the hostname', () => {
  const a = hairpinAdvice({ lanAddress: '192.168.77.50', hostnames: ['home.example.net'] });
  assert.match(a, /192\.168\.77\.50/);
  assert.match(a, /home\.example\.net.*split DNS/);
});

test('unreachable advice defers to the nat step behind CGNAT', () => {
  assert.match(unreachableAdvice({ pair: ssh[0]!, nat: 'cgnat' }), /CGNAT/);
  assert.match(unreachableAdvice({ pair: ssh[0]!, nat: 'single', lanAddress: '192.168.77.50' }), /TCP 2222 → 192\.168\.77\.50:22/);
});
