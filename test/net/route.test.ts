import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRoute, parseProcRoute4, parseProcRoute6 } from '../../src/net/route.js';

const route4 = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t014DA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t004DA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
`;

test('the lowest-metric IPv4 default route is read from /proc/net/route', () => {
  assert.deepEqual(parseProcRoute4(route4), { interface: 'eth0', gateway: '192.168.77.1' });
});

test('no default route gives undefined', () => {
  assert.equal(parseProcRoute4('Iface\tDestination\n'), undefined);
});

const route6 = [
  '2a0ddd00007700000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     l0',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     l0',
].join('\n');

test('the IPv6 default route with its link-local next hop is read from /proc/net/ipv6_route', () => {
  assert.deepEqual(parseProcRoute6(route6), { interface: 'l0', gateway: 'fe80::1' });
});

test('defaultRoute picks the host address that faces the gateway', async () => {
  const r = await defaultRoute(4, {
    readText: async () => route4,
    interfaces: () => ({
      eth0: [
        { address: '10.9.9.9', netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:50', internal: false, cidr: '10.9.9.9/8' },
        { address: '192.168.77.50', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:50', internal: false, cidr: '192.168.77.50/24' },
      ],
    }),
  });
  assert.deepEqual(r, { family: 4, interface: 'eth0', gateway: '192.168.77.1', address: '192.168.77.50', prefixLength: 24 });
});

test('defaultRoute never throws when /proc is unreadable', async () => {
  assert.equal(await defaultRoute(4, { readText: async () => { throw new Error('EACCES'); }, interfaces: () => ({}) }), undefined);
});
