import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forget, readGatewayHint, readLedger, remember, rememberGateway, type LedgerEntry } from '../../src/portmap/ledger.js';
import { listJson } from '../../src/cli/render/map.js';

const entry = (o: Partial<LedgerEntry> = {}): LedgerEntry => ({ via: 'pcp', protocol: 'tcp', externalPort: 8080, internalAddress: '192.168.1.5', internalPort: 80, description: 'x', leaseSeconds: 600, expiresAt: Date.now() + 600_000, gateway: '192.168.1.1', nonce: 'ab'.repeat(12), ...o });

test('the ledger remembers, replaces and forgets entries by gateway, protocol and external port; file mode 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'sub', 'portmap.json');
  try {
    await remember(path, entry());
    await remember(path, entry({ internalPort: 81 }));
    await remember(path, entry({ protocol: 'udp' }));
    assert.deepEqual((await readLedger(path)).map((e) => [e.protocol, e.internalPort]), [['tcp', 81], ['udp', 80]]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await forget(path, { protocol: 'tcp', externalPort: 8080, gateway: '192.168.1.1' });
    assert.deepEqual((await readLedger(path)).map((e) => e.protocol), ['udp']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a ledger write never follows a symlink planted at its temp name or at the file, and is 0600 whatever was there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  const victim = join(dir, 'victim');
  try {
    writeFileSync(victim, 'precious');
    // The old writer used a predictable `${path}.${pid}.tmp` opened with 'w': a planted link was written through.
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    writeFileSync(path, '[]');
    chmodSync(path, 0o644);
    await remember(path, entry());
    assert.equal(readFileSync(victim, 'utf8'), 'precious', 'the symlink target is untouched');
    assert.ok(lstatSync(path).isFile(), 'the ledger is a regular file, not a link');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    symlinkSync(victim, join(dir, 'link.json'));
    await remember(join(dir, 'link.json'), entry());
    assert.equal(readFileSync(victim, 'utf8'), 'precious', 'a symlink at the ledger path is replaced, not written through');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a corrupt, foreign or expired ledger reads as empty, never throws', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  try {
    assert.deepEqual(await readLedger(path), []);
    writeFileSync(path, '{not json');
    assert.deepEqual(await readLedger(path), []);
    writeFileSync(path, JSON.stringify([entry({ expiresAt: 1 }), { ...entry(), internalAddress: 'evil.example' }, { ...entry(), nonce: 'zz' }, entry({ expiresAt: 0, via: 'upnp' })]));
    assert.deepEqual((await readLedger(path)).map((e) => e.via), ['upnp'], 'only the permanent, valid entry survives');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the gateway hint is kept per gateway and only for an http URL on that gateway', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'gateway.json');
  try {
    await rememberGateway(path, '192.168.1.1', new URL('http://192.168.1.1:5000/rootDesc.xml'));
    assert.equal((await readGatewayHint(path, '192.168.1.1'))?.href, 'http://192.168.1.1:5000/rootDesc.xml');
    assert.equal(await readGatewayHint(path, '10.0.0.1'), undefined);
    await rememberGateway(path, '192.168.1.1', new URL('http://10.9.9.9:5000/x'));
    assert.match(readFileSync(path, 'utf8'), /192\.168\.1\.1:5000/, 'a URL on another host is not remembered');
    writeFileSync(path, JSON.stringify({ gateway: '192.168.1.1', location: 'http://8.8.8.8/x' }));
    assert.equal(await readGatewayHint(path, '192.168.1.1'), undefined);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('map list --json has exactly the contract fields', () => {
  const out = listJson([{ via: 'upnp', protocol: 'tcp', externalPort: 1, internalAddress: '192.168.1.5', internalPort: 2, description: 'd', leaseSeconds: 3, ours: true, enabled: true, externalAddress: '44.0.0.2' }]);
  assert.deepEqual(out, [{ protocol: 'tcp', externalPort: 1, internalAddress: '192.168.1.5', internalPort: 2, description: 'd', leaseSeconds: 3, via: 'upnp', ours: true }]);
});
