/** /proc/net/if_inet6: a table of real lines (captured in the lab's LAN namespace) and hostile ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStable, parseIfInet6, readIfInet6 } from '../../src/net/if-inet6.js';

// use_tempaddr=2 with `ip -6 addr add 2a0d:dd00:77::50/64 dev l0 mngtmpaddr nodad`: the kernel adds a
// temporary address (flags 01); a deprecated one (21 = temporary + deprecated); a tentative one (40).
const SAMPLE = [
  '2a0ddd00007700003c5e1a77b2c4d9e1 02 40 00 01       l0',
  '2a0ddd00007700000000000000000050 02 40 00 80       l0',
  '2a0ddd00007700004d1b2c3d4e5f6071 02 40 00 21       l0',
  '2a0ddd00007700000000000000000051 02 40 00 40       l0',
  'fe80000000000000000000fffe000050 02 40 20 80       l0',
  '00000000000000000000000000000001 01 80 10 80       lo',
  '',
].join('\n');

const rows: Array<[string, { address: string; temporary: boolean; deprecated: boolean; tentative: boolean; stable: boolean; scope: number; ifname: string }]> = [
  ['temporary', { address: '2a0d:dd00:77:0:3c5e:1a77:b2c4:d9e1', temporary: true, deprecated: false, tentative: false, stable: false, scope: 0, ifname: 'l0' }],
  ['stable (permanent)', { address: '2a0d:dd00:77::50', temporary: false, deprecated: false, tentative: false, stable: true, scope: 0, ifname: 'l0' }],
  ['deprecated temporary', { address: '2a0d:dd00:77:0:4d1b:2c3d:4e5f:6071', temporary: true, deprecated: true, tentative: false, stable: false, scope: 0, ifname: 'l0' }],
  ['tentative', { address: '2a0d:dd00:77::51', temporary: false, deprecated: false, tentative: true, stable: false, scope: 0, ifname: 'l0' }],
  ['link-local', { address: 'fe80::ff:fe00:50', temporary: false, deprecated: false, tentative: false, stable: true, scope: 0x20, ifname: 'l0' }],
  ['loopback', { address: '::1', temporary: false, deprecated: false, tentative: false, stable: true, scope: 0x10, ifname: 'lo' }],
];

test('parseIfInet6 reads address, interface, scope and the temporary/deprecated/tentative flags', () => {
  const got = parseIfInet6(SAMPLE);
  assert.equal(got.length, rows.length);
  rows.forEach(([name, want], i) => {
    const a = got[i];
    assert.ok(a, name);
    assert.deepEqual(
      { address: a.address, temporary: a.temporary, deprecated: a.deprecated, tentative: a.tentative, stable: isStable(a), scope: a.scope, ifname: a.ifname },
      want, name,
    );
    assert.equal(a.prefixLen, name === 'loopback' ? 128 : 64, name);
  });
});

test('parseIfInet6 skips malformed lines instead of throwing', () => {
  const bad = ['garbage', '2a0ddd000077 02 40 00 80 l0', `${'z'.repeat(32)} 02 40 00 80 l0`, '2a0ddd00007700000000000000000050 02 40 00', '\u001b[31m'].join('\n');
  assert.deepEqual(parseIfInet6(bad), []);
  assert.equal(parseIfInet6(`${bad}\n${SAMPLE}`).length, rows.length);
});

test('readIfInet6 reads an injected path and is empty when the file is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ifinet6-'));
  const file = join(dir, 'if_inet6');
  writeFileSync(file, SAMPLE);
  assert.equal((await readIfInet6(file)).filter((a) => a.temporary).length, 2);
  assert.deepEqual(await readIfInet6(join(dir, 'missing')), []);
});
