/**
 * IPv6 pinholes: the WANIPv6FirewallControl SOAP client against a loopback fake (argument order, values,
 * error codes), the choice of this host's address, and the upkeep loop (an adopted pinhole renewed at once) (renewal at
 * half the lease, re-opening what the router lost, removal on stop) driven by an injected clock and wait.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FirewallClient } from '../../src/portmap/upnp/firewall6.js';
import { closeHttp } from '../../src/portmap/upnp/http.js';
import {
  keepPinhole, lanContext6, linkLocalGateway, openFirewall6, stableAddressOn, UpnpFirewall6,
  type Firewall6, type Pinhole, type PinholeEvent,
} from '../../src/portmap/pinholes.js';
import { parseIfInet6 } from '../../src/net/if-inet6.js';
import { fakeHttp, soapFault, soapOk, actionOf, argOf } from './helpers/fakes.js';

after(() => closeHttp());

const FC = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
const STABLE = '2a0d:dd00:77::50';

async function withFirewall(reply: (action: string, body: string) => { status: number; body: string }, fn: (c: FirewallClient, seen: () => Array<{ action: string; body: string }>) => Promise<void>): Promise<void> {
  const fake = await fakeHttp('127.0.0.1', (r, res) => {
    const out = reply(actionOf(r), r.body);
    res.statusCode = out.status;
    res.setHeader('content-type', 'text/xml');
    res.end(out.body);
  });
  try {
    const c = new FirewallClient({ kind: 'WANIPv6FirewallControl', serviceType: FC, version: 1, controlUrl: new URL(`${fake.base}/ctl/IP6FCtl`) });
    await fn(c, () => fake.seen.map((r) => ({ action: actionOf(r), body: r.body })));
  } finally {
    await fake.close();
  }
}

test('AddPinhole sends the spec order, protocol number and a lease clamped to 1..86400; returns the UniqueID', async () => {
  await withFirewall((a) => ({ status: 200, body: soapOk(a, { UniqueID: 7 }, FC) }), async (c, seen) => {
    const r = await c.add({ internalClient: STABLE, internalPort: 2727, protocol: 'udp', leaseSeconds: 999_999 });
    assert.deepEqual(r, { ok: true, value: 7 });
    const body = seen()[0]?.body ?? '';
    assert.deepEqual([...body.matchAll(/<(\w+)>/g)].map((m) => m[1]), ['RemoteHost', 'RemotePort', 'InternalClient', 'InternalPort', 'Protocol', 'LeaseTime']);
    const req = { body, headers: {} } as never;
    assert.equal(argOf(req, 'Protocol'), '17');
    assert.equal(argOf(req, 'LeaseTime'), '86400');
    assert.equal(argOf(req, 'InternalClient'), STABLE);
  });
});

test('a bad UniqueID, IsWorking or PinholePackets is malformed, not a value', async () => {
  await withFirewall((a) => ({ status: 200, body: soapOk(a, { UniqueID: 'x', IsWorking: 'maybe', PinholePackets: '-1' }, FC) }), async (c) => {
    assert.equal((await c.add({ internalClient: STABLE, internalPort: 2727, protocol: 'tcp', leaseSeconds: 60 })).ok, false);
    assert.equal((await c.checkWorking(1)).ok, false);
    assert.equal((await c.packets(1)).ok, false);
  });
});

test('606 is a refusal naming the sender rule; 402 for our id means the router no longer holds it', async () => {
  await withFirewall((a) => ({ status: 500, body: a === 'AddPinhole' ? soapFault(606, 'Action not authorized') : soapFault(402, 'Invalid Args') }), async (c) => {
    const fw = new UpnpFirewall6({ gateway: '2a0d:dd00:77::1', address: STABLE, interface: 'l0' }, c);
    const out = await fw.open({ protocol: 'tcp', internalPort: 2727, leaseSeconds: 600 });
    assert.equal(out.kind, 'refused');
    assert.match(out.kind === 'refused' ? out.why : '', /only the address a request comes from/);
    const hole: Pinhole = { via: 'upnp', protocol: 'tcp', internalAddress: STABLE, internalPort: 2727, id: 3, leaseSeconds: 600 };
    assert.equal(await fw.holds(hole), false);
    assert.deepEqual(await fw.renew(hole, 600), { kind: 'gone' });
    assert.deepEqual(await fw.remove(hole), { kind: 'not-found' });
  });
});

test('after a reboot our old id may name another host\'s pinhole: 606 on renew or check means not ours — open again', async () => {
  await withFirewall(() => ({ status: 500, body: soapFault(606, 'Action not authorized') }), async (c) => {
    const fw = new UpnpFirewall6({ gateway: '2a0d:dd00:77::1', address: STABLE, interface: 'l0' }, c);
    const hole: Pinhole = { via: 'upnp', protocol: 'tcp', internalAddress: STABLE, internalPort: 2727, id: 1, leaseSeconds: 600 };
    assert.deepEqual(await fw.renew(hole, 600), { kind: 'gone' });
    assert.equal(await fw.holds(hole), false);
  });
});

test('the address opened is the stable one in the gateway\'s /64, never a temporary one', () => {
  const table = parseIfInet6([
    '2a0ddd0000770000d5447b28b7d9a121 02 40 00 01 l0',
    '2a0ddd0000990000000000000000aaaa 02 40 00 80 l0',
    '2a0ddd00007700000000000000000050 02 40 00 80 l0',
  ].join('\n'));
  assert.equal(stableAddressOn(table, 'l0', '2a0d:dd00:77::1'), STABLE);
  assert.equal(stableAddressOn(table.filter((a) => a.temporary), 'l0', '2a0d:dd00:77::1'), undefined);
});

/** A router's firewall in memory: holds pinholes until `reboot()`. */
function memoryFirewall(): Firewall6 & { reboot(): void; calls: string[]; held: Map<number, Pinhole> } {
  const held = new Map<number, Pinhole>();
  const calls: string[] = [];
  let next = 1;
  return {
    via: 'upnp', lan: { gateway: '2a0d:dd00:77::1', address: STABLE, interface: 'l0' },
    held, calls,
    reboot() { held.clear(); next = 1; },
    open(req) {
      calls.push('open');
      const id = next++;
      const p: Pinhole = { via: 'upnp', protocol: req.protocol, internalAddress: STABLE, internalPort: req.internalPort, id, leaseSeconds: req.leaseSeconds };
      held.set(id, p);
      return Promise.resolve({ kind: 'opened', pinhole: p });
    },
    renew(p) { calls.push('renew'); return Promise.resolve(held.has(p.id ?? -1) ? { kind: 'renewed' } : { kind: 'gone' }); },
    holds(p) { calls.push('holds'); return Promise.resolve(held.has(p.id ?? -1)); },
    working() { return Promise.resolve(undefined); },
    remove(p) { calls.push('remove'); return Promise.resolve(held.delete(p.id ?? -1) ? { kind: 'removed' } : { kind: 'not-found' }); },
  };
}

test('keepPinhole renews at half the lease, re-opens after a reboot at the next check, removes on stop', async () => {
  const fw = memoryFirewall();
  let now = 0;
  const ac = new AbortController();
  const events: PinholeEvent[] = [];
  // The injected wait advances the clock and runs a script step: no timers, no wall clock.
  const script: Array<() => void> = [
    () => {}, // first check: still held
    () => fw.reboot(), // the router reboots before the second check
    () => {}, () => {}, () => {}, () => {}, () => {}, // checks until the renewal is due (50 s after re-opening)
    () => ac.abort(),
  ];
  const waits: number[] = [];
  const wait = (ms: number) => { waits.push(ms); now += ms; (script.shift() ?? (() => ac.abort()))(); return Promise.resolve(); };
  await keepPinhole(fw, { protocol: 'tcp', internalPort: 2727, leaseSeconds: 100 }, { signal: ac.signal, now: () => now, wait, checkIntervalMs: 10_000, removeOnStop: true, onEvent: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.event), ['pinhole.opened', 'pinhole.gone', 'pinhole.opened', 'pinhole.renewed', 'pinhole.removed']);
  assert.deepEqual(waits.slice(0, 2), [10_000, 10_000], 'checks every checkIntervalMs while the renewal is far');
  assert.equal(fw.held.size, 0, 'removed on stop');
  assert.ok(fw.calls.includes('renew'));
});

test('keepPinhole retries a refused open with a doubling delay and never throws', async () => {
  const ac = new AbortController();
  const waits: number[] = [];
  const fw: Firewall6 = { ...memoryFirewall(), open: () => Promise.resolve({ kind: 'failed', why: 'HTTP 500' }) };
  await keepPinhole(fw, { protocol: 'tcp', internalPort: 2727, leaseSeconds: 100 }, {
    signal: ac.signal, retryMs: 1000, maxRetryMs: 4000,
    wait: (ms) => { waits.push(ms); if (waits.length === 4) ac.abort(); return Promise.resolve(); },
  });
  assert.deepEqual(waits, [1000, 2000, 4000, 4000]);
});

test('keepPinhole with an adopted pinhole renews it at once (the router extends it, no second one); one the router lost is opened again', async () => {
  const fw = memoryFirewall();
  const first = await fw.open({ protocol: 'tcp', internalPort: 2727, leaseSeconds: 100 });
  assert.equal(first.kind, 'opened');
  const adopted = (first as { pinhole: Pinhole }).pinhole;
  fw.calls.length = 0;
  const ac = new AbortController();
  const events: PinholeEvent[] = [];
  await keepPinhole(fw, { protocol: 'tcp', internalPort: 2727, leaseSeconds: 100 }, {
    signal: ac.signal, adopted, now: () => 0, wait: () => { ac.abort(); return Promise.resolve(); }, onEvent: (e) => events.push(e),
  });
  assert.deepEqual(fw.calls, ['renew'], 'renewed, never opened');
  assert.deepEqual(events.map((e) => [e.event, 'pinhole' in e ? e.pinhole.id : undefined]), [['pinhole.renewed', adopted.id]]);
  assert.equal(fw.held.size, 1);

  // The router rebooted while no process kept it: the renewal says gone, and a new one is opened.
  fw.reboot();
  const ac2 = new AbortController();
  const events2: PinholeEvent[] = [];
  await keepPinhole(fw, { protocol: 'tcp', internalPort: 2727, leaseSeconds: 100 }, {
    signal: ac2.signal, adopted, now: () => 0, wait: () => { ac2.abort(); return Promise.resolve(); }, onEvent: (e) => events2.push(e),
  });
  assert.deepEqual(events2.map((e) => e.event), ['pinhole.gone', 'pinhole.opened']);
});

test('a link-local IPv6 default route (the router\'s fe80:: from its RA): the gateway keeps its zone; UPnP says it cannot, PCP is left', async () => {
  // /proc/net/ipv6_route: default via fe80::1 dev eth0 (flags RTF_UP|RTF_GATEWAY).
  const route = `${'0'.repeat(32)} 00 ${'0'.repeat(32)} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n`;
  const inet6 = parseIfInet6(`2a0ddd00007700000000000000000050 02 40 00 80 eth0\n`);
  const r = await lanContext6({ readText: () => Promise.resolve(route), interfaces: () => ({}), inet6: () => Promise.resolve(inet6) });
  assert.deepEqual(r, { ok: true, lan: { gateway: 'fe80::1%eth0', address: STABLE, interface: 'eth0' } });
  assert.equal(linkLocalGateway({ gateway: 'fe80::1%eth0' }), true);
  assert.equal(linkLocalGateway({ gateway: '2a0d:dd00:77::1' }), false);
  const u = await openFirewall6({ gateway: '127.0.0.1', address: '127.0.0.1', interface: 'lo', prefixLength: 8 }, { gateway: 'fe80::1%eth0', address: STABLE, interface: 'eth0' });
  assert.ok(!u.ok && u.kind === 'unsupported' && /link-local \(fe80::1%eth0\).*PCP works with a link-local gateway/.test(u.why), JSON.stringify(u));
});
