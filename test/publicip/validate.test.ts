import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressBody, parseAddressList, validateAddress } from '../../src/publicip/validate.js';
import type { Family } from '../../src/net/address.js';

// [input, family, expected canonical address or null (rejected), why]
const addresses: Array<[string, Family, string | null, string]> = [
  ['44.0.0.2', 4, '44.0.0.2', 'a global IPv4 address passes'],
  ['8.8.8.8', 4, '8.8.8.8', 'a well-known global address passes'],
  ['2A0D:DD00:0077:0000:0000:0000:0000:0050', 6, '2a0d:dd00:77::50', 'IPv6 comes back canonical (lower case, compressed)'],
  ['2606:4700:4700::1111', 6, '2606:4700:4700::1111', 'a global IPv6 address passes'],
  ['10.1.2.3', 4, null, 'RFC 1918 10/8'],
  ['172.16.0.1', 4, null, 'RFC 1918 172.16/12'],
  ['172.31.255.255', 4, null, 'RFC 1918 172.16/12 upper end'],
  ['192.168.1.23', 4, null, 'RFC 1918 192.168/16'],
  ['100.64.12.34', 4, null, 'CGNAT 100.64/10'],
  ['100.127.255.254', 4, null, 'CGNAT 100.64/10 upper end'],
  ['127.0.0.1', 4, null, 'loopback'],
  ['169.254.1.1', 4, null, 'link-local'],
  ['192.0.2.1', 4, null, 'documentation TEST-NET-1'],
  ['198.51.100.7', 4, null, 'documentation TEST-NET-2'],
  ['203.0.113.9', 4, null, 'documentation TEST-NET-3'],
  ['198.18.0.1', 4, null, 'benchmarking'],
  ['224.0.0.1', 4, null, 'multicast'],
  ['239.255.255.250', 4, null, 'multicast (SSDP)'],
  ['240.0.0.1', 4, null, 'reserved 240/4'],
  ['255.255.255.255', 4, null, 'broadcast'],
  ['0.0.0.0', 4, null, 'unspecified'],
  ['::1', 6, null, 'IPv6 loopback'],
  ['::', 6, null, 'IPv6 unspecified'],
  ['fe80::1', 6, null, 'IPv6 link-local'],
  ['fd00::1234', 6, null, 'IPv6 unique local'],
  ['ff02::1', 6, null, 'IPv6 multicast'],
  ['2001:db8::1', 6, null, 'IPv6 documentation'],
  ['::ffff:8.8.8.8', 6, null, 'IPv4-mapped IPv6'],
  ['64:ff9b::808:808', 6, null, 'NAT64 prefix'],
  ['2002:0808:0808::1', 6, null, '6to4'],
  ['8.8.8.8', 6, null, 'IPv4 where IPv6 was asked'],
  ['2606:4700:4700::1111', 4, null, 'IPv6 where IPv4 was asked'],
  ['2606:4700::1%eth0', 6, null, 'a zone id'],
  ['08.8.8.8', 4, null, 'leading zeros'],
  ['8.8.8', 4, null, 'three octets'],
  ['8.8.8.256', 4, null, 'an octet over 255'],
  ['', 4, null, 'empty'],
  ['8.8.8.8 ', 4, null, 'validateAddress itself does not trim'],
];

for (const [input, family, want, why] of addresses) {
  test(`validateAddress ${want ? 'accepts' : 'rejects'} ${JSON.stringify(input)} as IPv${family}: ${why}`, () => {
    const v = validateAddress(input, family);
    if (want) assert.deepEqual(v, { ok: true, address: want });
    else {
      assert.equal(v.ok, false);
      if (!v.ok) assert.ok(v.why.length > 0);
    }
  });
}

test('validateAddress names the class of a rejected address and keeps it as `rejected`', () => {
  const v = validateAddress('100.64.12.34', 4);
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.match(v.why, /carrier-grade NAT/);
    assert.equal(v.rejected, '100.64.12.34');
  }
});

const trace = (ip: string) => `fl=29f123\nh=www.cloudflare.com\nip=${ip}\nts=1.0\nvisit_scheme=https\nuag=x\ncolo=LAB\nloc=ZZ\n`;

// [body, family, format, expected]
const bodies: Array<[string, Family, 'plain' | 'trace' | 'auto', string | null, string]> = [
  ['44.0.0.2', 4, 'auto', '44.0.0.2', 'plain, no newline'],
  ['44.0.0.2\n', 4, 'auto', '44.0.0.2', 'plain with a newline'],
  ['  44.0.0.2\r\n', 4, 'auto', '44.0.0.2', 'plain with surrounding whitespace'],
  ['\uFEFF44.0.0.2', 4, 'auto', '44.0.0.2', 'a byte-order mark'],
  [trace('44.0.0.2'), 4, 'auto', '44.0.0.2', 'Cloudflare trace detected'],
  [trace('44.0.0.2'), 4, 'trace', '44.0.0.2', 'Cloudflare trace asked'],
  [trace('2a0d:dd00:77::50'), 6, 'trace', '2a0d:dd00:77::50', 'Cloudflare trace over IPv6'],
  [trace('100.64.1.1'), 4, 'trace', null, 'trace with a CGNAT ip'],
  ['fl=1\nh=x\n', 4, 'trace', null, 'trace without ip='],
  ['ip=44.0.0.2\nip=44.0.0.3\n', 4, 'trace', null, 'trace with two ip= lines'],
  ['44.0.0.2', 4, 'trace', null, 'a plain body where a trace was expected'],
  ['', 4, 'auto', null, 'empty body'],
  ['\n\n', 4, 'auto', null, 'only whitespace'],
  ['44.0.0.2\n8.8.4.4\n', 4, 'auto', null, 'two addresses'],
  ['44.0.0.2 44.0.0.2', 4, 'auto', null, 'the same address twice'],
  ['<!DOCTYPE html><html><body>Your IP address is 44.0.0.2</body></html>', 4, 'auto', null, 'HTML'],
  ['{"ip":"44.0.0.2"}', 4, 'auto', null, 'JSON'],
  ['ip: 44.0.0.2', 4, 'auto', null, 'a label before the address'],
  ['44.0.0.2\u0000', 4, 'auto', null, 'a NUL byte'],
  ['192.168.1.23\n', 4, 'auto', null, 'private'],
  ['2001:4860:4860::8888\n', 4, 'auto', null, 'wrong family'],
  ['44.0.0.2\n' + 'x'.repeat(1000), 4, 'auto', null, 'an address followed by junk'],
];

for (const [body, family, format, want, why] of bodies) {
  test(`parseAddressBody ${want ? 'reads' : 'rejects'} ${why}`, () => {
    const v = parseAddressBody(body, family, format);
    if (want) assert.deepEqual(v, { ok: true, address: want });
    else assert.equal(v.ok, false);
  });
}

test('parseAddressList skips TXT strings that are not addresses (Google edns0-client-subnet)', () => {
  assert.deepEqual(parseAddressList(['44.0.0.2', 'edns0-client-subnet 44.0.0.0/24'], 4), { ok: true, address: '44.0.0.2' });
});

test('parseAddressList accepts one address repeated but rejects two different ones', () => {
  assert.deepEqual(parseAddressList(['44.0.0.2', '44.0.0.2'], 4), { ok: true, address: '44.0.0.2' });
  assert.equal(parseAddressList(['44.0.0.2', '44.0.0.3'], 4).ok, false);
});

test('parseAddressList rejects an empty answer and an answer of only non-addresses', () => {
  assert.equal(parseAddressList([], 4).ok, false);
  assert.equal(parseAddressList(['hello'], 4).ok, false);
});
