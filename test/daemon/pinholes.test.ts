/**
 * The daemon's pinhole upkeep (src/daemon/pinholes.ts) with the real `keepPinhole` on a manual clock and
 * a router firewall in memory: only forwards with 6 in `families` get a pinhole; a router reboot that
 * restarts its ids never leaves a pinhole "renewed" under an id that now names another one; a prefix
 * change re-opens for the new address; stop removes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { PinholeKeeper, type PinholeDeps, type PinholeKeeperEvent } from '../../src/daemon/pinholes.js';
import { keepPinhole, type Firewall6, type Lan6, type Pinhole } from '../../src/portmap/pinholes.js';
import { ManualClock, settle } from '../../src/state/clock.js';
import { MappingSession } from '../../src/portmap/session.js';
import { until } from '../helpers/until.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GW = '2a0d:dd00:77::1';
const A = '2a0d:dd00:77::50';
const B = '2a0d:dd00:88::50';

/** A router's firewall in memory: ids come from `ids` (then count up); a reboot forgets every pinhole. */
function router(ids: number[]) {
  const held = new Map<number, Pinhole>();
  let queue = [...ids];
  let next = Math.max(0, ...ids) + 1;
  const calls: string[] = [];
  const firewall = (lan: Lan6): Firewall6 => ({
    via: 'upnp', lan,
    open(req) {
      calls.push(`open ${req.internalPort}`);
      const id = queue.shift() ?? next++;
      const p: Pinhole = { via: 'upnp', protocol: req.protocol, internalAddress: lan.address, internalPort: req.internalPort, id, leaseSeconds: req.leaseSeconds };
      held.set(id, p);
      return Promise.resolve({ kind: 'opened', pinhole: p });
    },
    renew(p) { calls.push(`renew ${p.id}`); return Promise.resolve(held.has(p.id ?? -1) ? { kind: 'renewed' } : { kind: 'gone' }); },
    // Like miniupnpd: it only knows whether the id exists (and is this host's), not for which port.
    holds(p) { return Promise.resolve(held.get(p.id ?? -1)?.internalAddress === lan.address); },
    working() { return Promise.resolve(undefined); },
    remove(p) { calls.push(`remove ${p.id}`); return Promise.resolve(held.delete(p.id ?? -1) ? { kind: 'removed' } : { kind: 'not-found' }); },
  });
  return {
    held, calls, firewall,
    reboot(after: number[]) { held.clear(); queue = [...after]; next = Math.max(0, ...after) + 1; },
    ports: () => [...held.values()].map((p) => `${p.internalAddress}:${p.internalPort}`).sort(),
  };
}

function setup(o: { forwards: unknown[]; ids: number[]; removeOnStop?: boolean; session?: MappingSession; router?: ReturnType<typeof router> }) {
  const config = configSchema.parse({ forwards: o.forwards });
  const r = o.router ?? router(o.ids);
  const clock = new ManualClock();
  let lan6: Lan6 = { gateway: GW, address: A, interface: 'l0' };
  const deps: PinholeDeps = {
    lanContext: () => Promise.resolve({ ok: true, lan: { gateway: '192.168.77.1', address: '192.168.77.50', interface: 'l0', prefixLength: 24 } }),
    lanContext6: () => Promise.resolve({ ok: true, lan: lan6 }),
    openFirewall: (_l4, l6) => Promise.resolve({ ok: true, firewall: r.firewall(l6) }),
    keep: keepPinhole,
  };
  const events: PinholeKeeperEvent[] = [];
  const keeper = new PinholeKeeper({
    forwards: config.forwards, removeOnStop: o.removeOnStop ?? true, deps, clock, random: () => 0.5, checkIntervalMs: 10_000, onEvent: (e) => events.push(e),
    ...(o.session ? { session: o.session } : {}),
  });
  return { keeper, r, clock, events, move: (address: string) => { lan6 = { ...lan6, address }; } };
}

const kinds = (es: PinholeKeeperEvent[]) => es.map((e) => ('key' in e ? `${e.kind} ${e.key}${e.kind === 'opened' ? ` ${e.how}` : ''}` : e.kind));

test('only forwards with 6 in families get a pinhole, on the internal port; renewed at half the lease', async () => {
  const { keeper, r, clock, events } = setup({
    forwards: [{ internalPort: 2222, externalPort: 8022 }, { internalPort: 22, families: [6], lease: 100 }, { internalPort: 80, families: [4, 6], lease: 100 }],
    ids: [],
  });
  keeper.start();
  await settle();
  assert.deepEqual(r.ports(), [`${A}:22`, `${A}:80`]);
  assert.deepEqual(kinds(events), ['opened tcp/22 added', 'opened tcp/80 added']);
  await clock.advance(50_000);
  assert.ok(r.calls.includes('renew 1') && r.calls.includes('renew 2'), r.calls.join(', '));
  assert.ok(kinds(events).includes('opened tcp/22 renewed'));
  assert.deepEqual(Object.keys(keeper.snapshot()).sort(), ['tcp/22', 'tcp/80']);
  await keeper.stop();
  assert.deepEqual(r.ports(), [], 'removed on stop');
  assert.deepEqual(kinds(events.slice(-2)).sort(), ['removed tcp/22', 'removed tcp/80']);
});

test('a router reboot restarts the ids: the pinhole whose old id now names another of ours is opened again, not "renewed"', async () => {
  // tcp/22 got id 2 and tcp/80 id 1; after the reboot tcp/22 (checked first) is given id 1 again.
  const { keeper, r, clock, events } = setup({ forwards: [{ internalPort: 22, families: [6], lease: 3600 }, { internalPort: 80, families: [6], lease: 3600 }], ids: [2, 1] });
  keeper.start();
  await settle();
  assert.deepEqual(Object.values(keeper.snapshot()).map((p) => `${p.internalPort}#${p.id}`).sort(), ['22#2', '80#1']);
  r.reboot([1, 2]);
  await clock.advance(10_000);
  assert.deepEqual(r.ports(), [`${A}:22`, `${A}:80`], 'both are open again');
  assert.deepEqual(Object.values(keeper.snapshot()).map((p) => `${p.internalPort}#${p.id}`).sort(), ['22#1', '80#2']);
  const after = kinds(events.slice(2));
  assert.deepEqual(after, ['gone tcp/22', 'opened tcp/22 recreated', 'gone tcp/80', 'opened tcp/80 recreated'], after.join(', '));
  const why = events.find((e): e is Extract<PinholeKeeperEvent, { kind: 'gone' }> => e.kind === 'gone' && e.key === 'tcp/80')?.why ?? '';
  assert.match(why, /gave id 1 to another of our pinholes/);
  await keeper.stop();
});

test('a new prefix: the old pinholes are removed and opened again for the new stable address', async () => {
  const { keeper, r, events, move } = setup({ forwards: [{ internalPort: 22, families: [6] }], ids: [] });
  keeper.start();
  await settle();
  assert.equal(await keeper.checkLan(), false, 'nothing moved');
  move(B);
  assert.equal(await keeper.checkLan(), true);
  await settle();
  assert.deepEqual(r.ports(), [`${B}:22`]);
  assert.deepEqual(kinds(events), ['opened tcp/22 added', 'lan-changed', 'removed tcp/22', 'opened tcp/22 recreated']);
  assert.equal(keeper.snapshot()['tcp/22']?.internalAddress, B);
  await keeper.stop();
});

test('no IPv6 place: every pinhole forward is reported unavailable, retried with backoff; no pinhole forwards, nothing asked', async () => {
  const config = configSchema.parse({ forwards: [{ internalPort: 22, families: [6] }] });
  const clock = new ManualClock();
  let asked = 0;
  const events: PinholeKeeperEvent[] = [];
  const deps: PinholeDeps = {
    lanContext: () => Promise.reject(new Error('not used')),
    lanContext6: () => { asked++; return Promise.resolve({ ok: false, why: 'no IPv6 default route' }); },
    openFirewall: () => Promise.reject(new Error('not used')),
    keep: () => Promise.reject(new Error('not used')),
  };
  const k = new PinholeKeeper({ forwards: config.forwards, removeOnStop: false, deps, clock, random: () => 0.5, retry: { baseMs: 1000, maxMs: 4000 }, onEvent: (e) => events.push(e) });
  k.start();
  await settle();
  await clock.advance(1000);
  assert.ok(asked >= 2, `asked ${asked} times`);
  assert.deepEqual(events[0], { kind: 'unavailable', keys: ['tcp/22'], message: 'no IPv6 default route' });
  await k.stop();
  const none = new PinholeKeeper({ forwards: configSchema.parse({ forwards: [{ internalPort: 22 }] }).forwards, removeOnStop: false, deps, clock });
  asked = 0;
  none.start();
  await settle();
  assert.equal(asked, 0);
  await none.stop();
});

test('pinholes are recorded in the ledger; a restarted keeper renews the one the router holds (same id, no second AddPinhole) and one it lost is opened again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinholes-'));
  try {
    const forwards = [{ internalPort: 22, families: [6], lease: 100 }, { internalPort: 80, families: [6], lease: 100 }];
    // The keepers' manual clock starts at 1_700_000_000_000: the ledger reads expiries on the same clock.
    const now = () => 1_700_000_000_000;
    const before = new MappingSession(join(dir, 'portmap.json'), now);
    const first = setup({ forwards, ids: [5, 6], removeOnStop: false, session: before });
    first.keeper.start();
    await until('both pinholes opened', () => first.events.filter((e) => e.kind === 'opened').length >= 2);
    await first.keeper.stop();
    await before.idle();
    const ledger = new MappingSession(join(dir, 'portmap.json'), now);
    assert.deepEqual((await ledger.pinholes(GW)).map((e) => `${e.internalPort}#${e.id}`).sort(), ['22#5', '80#6'], 'both recorded, kept on the router (no removeOnStop)');

    // The router lost tcp/80's pinhole meanwhile; the restarted daemon's keeper:
    first.r.held.delete(6);
    first.r.calls.length = 0;
    const second = setup({ forwards, ids: [], removeOnStop: true, session: ledger, router: first.r });
    second.keeper.start();
    await until('both pinholes held again', () => second.events.filter((e) => e.kind === 'opened').length >= 2);
    assert.deepEqual(first.r.calls.sort(), ['open 80', 'renew 5', 'renew 6'], 'renewed by id; only the lost one opened again');
    assert.deepEqual(kinds(second.events).sort(), ['gone tcp/80', 'opened tcp/22 renewed', 'opened tcp/80 recreated']);
    assert.equal(second.keeper.snapshot()['tcp/22']?.id, 5);
    await ledger.idle();
    assert.deepEqual((await ledger.pinholes(GW)).map((e) => `${e.internalPort}#${e.id}`).sort(), ['22#5', '80#7']);
    await second.keeper.stop();
    await ledger.idle();
    assert.deepEqual(await ledger.pinholes(GW), [], 'removed on stop, forgotten');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
