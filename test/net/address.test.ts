import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddress, classifyAddress, isGlobalUnicast, isLanAddress, isLoopbackHost, sameSubnet } from '../../src/net/address.js';

const table: [string, ReturnType<typeof classifyAddress>][] = [
  ['8.8.8.8', 'global'],
  ['44.0.0.2', 'global'],
  ['1.1.1.1', 'global'],
  ['0.0.0.0', 'unspecified'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'global'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.254', 'cgnat'],
  ['100.128.0.1', 'global'],
  ['127.0.0.1', 'loopback'],
  ['169.254.10.1', 'link-local'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.0.8', 'reserved'],
  ['2606:4700:4700::1111', 'global'],
  ['2a0d:dd00:77::50', 'global'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['fe80::1', 'link-local'],
  ['fd00::1', 'private'],
  ['fc12::1', 'private'],
  ['ff02::c', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['::ffff:8.8.8.8', 'ipv4-mapped'],
  ['64:ff9b::808:808', 'reserved'],
  ['2002:808:808::1', 'reserved'],
  ['2001::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['1.2.3', 'invalid'],
  ['1.2.3.4.5', 'invalid'],
  ['256.1.1.1', 'invalid'],
  ['', 'invalid'],
  ['8.8.8.8 ', 'invalid'],
  ['<html>', 'invalid'],
  ['example.com', 'invalid'],
];

for (const [addr, cls] of table) {
  test(`classifyAddress(${JSON.stringify(addr)}) is ${cls}`, () => {
    assert.equal(classifyAddress(addr), cls);
    assert.equal(isGlobalUnicast(addr), cls === 'global');
  });
}

test('LAN ranges are private, link-local and CGNAT, never global or loopback', () => {
  assert.ok(isLanAddress('192.168.77.1'));
  assert.ok(isLanAddress('fe80::1'));
  assert.ok(isLanAddress('100.64.0.1'));
  assert.ok(!isLanAddress('8.8.8.8'));
  assert.ok(!isLanAddress('127.0.0.1'));
});

test('loopback hosts include localhost and bracketed IPv6', () => {
  assert.ok(isLoopbackHost('localhost'));
  assert.ok(isLoopbackHost('[::1]'));
  assert.ok(isLoopbackHost('127.0.0.5'));
  assert.ok(!isLoopbackHost('dyn.example.net'));
  assert.ok(!isLoopbackHost('192.168.1.1'));
});

test('IPv6 is compared in canonical form', () => {
  assert.equal(canonicalAddress('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalAddress('2a0d:dd00:77:0:0:0:0:50'), '2a0d:dd00:77::50');
  assert.equal(canonicalAddress('1.2.3.4'), '1.2.3.4');
});

test('sameSubnet respects the prefix length in both families', () => {
  assert.ok(sameSubnet('192.168.77.50', '192.168.77.1', 24));
  assert.ok(!sameSubnet('192.168.78.50', '192.168.77.1', 24));
  assert.ok(sameSubnet('2a0d:dd00:77::50', '2a0d:dd00:77::1', 64));
  assert.ok(!sameSubnet('2a0d:dd00:78::50', '2a0d:dd00:77::1', 64));
  assert.ok(!sameSubnet('192.168.77.1', '::1', 24));
});
