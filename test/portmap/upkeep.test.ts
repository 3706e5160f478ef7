import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepMappings, planNext, routerReset, type KeepEvent } from '../../src/portmap/upkeep.js';
import type { ListOutcome, Mapper, StatusOutcome } from '../../src/portmap/mapper.js';
import type { MapOutcome, MappingRequest, RemoveOutcome, Via } from '../../src/portmap/types.js';
import { LAN } from './helpers/fakes.js';
import { ManualClock } from '../../src/state/clock.js';

/** A mapper whose router we control: a lease in seconds (fractions for tests), an epoch, failures. */
class FakeMapper implements Mapper {
  readonly lan = LAN;
  maps = 0;
  unmaps = 0;
  epoch = 1000;
  failNext = 0;
  constructor(readonly via: Via, private readonly lease: number) {}
  async map(req: MappingRequest): Promise<MapOutcome> {
    this.maps++;
    if (this.failNext > 0) { this.failNext--; return { kind: 'failed', via: this.via, why: 'router busy' }; }
    return { kind: 'mapped', permanent: false, expiresAt: Date.now() + this.lease * 1000, mapping: { via: this.via, protocol: req.protocol, externalPort: req.internalPort, internalAddress: LAN.address, internalPort: req.internalPort, description: req.description, leaseSeconds: this.lease } };
  }
  async unmap(): Promise<RemoveOutcome> { this.unmaps++; return { kind: 'removed', via: this.via }; }
  async list(): Promise<ListOutcome> { return { kind: 'unsupported', via: this.via, why: '' }; }
  down = false;
  async status(): Promise<StatusOutcome> { return this.down ? { ok: false, kind: 'failed', why: 'port unreachable' } : { ok: true, externalAddress: '44.0.0.2', epoch: this.epoch }; }
  async close(): Promise<void> {}
}

const req: MappingRequest = { protocol: 'tcp', internalPort: 8080, leaseSeconds: 1, description: 'x' };
const mapped = (lease: number, permanent = false): MapOutcome & { kind: 'mapped' } => ({ kind: 'mapped', permanent, expiresAt: 0, mapping: { via: 'upnp', protocol: 'tcp', externalPort: 1, internalAddress: 'a', internalPort: 1, description: '', leaseSeconds: lease } });

test('planNext renews at half the granted lease; PCP between ½ and ⅝; permanent leases at half the wanted one', () => {
  assert.equal(planNext('natpmp', 0, mapped(7200), 7200, () => 0.5), 3_600_000);
  assert.equal(planNext('pcp', 0, mapped(800), 800, () => 0), 400_000);
  assert.equal(planNext('pcp', 0, mapped(800), 800, () => 1), 500_000);
  assert.equal(planNext('upnp', 0, mapped(0, true), 3600, () => 0), 1_800_000);
  assert.equal(planNext('upnp', 0, mapped(1), 1, () => 0), 2_000, 'leases under 4 s are planned as 4 s');
});

test('routerReset: UPnP uptime going down, NAT-PMP epoch falling behind', () => {
  assert.equal(routerReset('upnp', { epoch: 500, atMs: 0 }, { epoch: 10, atMs: 1000 }), true);
  assert.equal(routerReset('upnp', { epoch: 500, atMs: 0 }, { epoch: 501, atMs: 1000 }), false);
  assert.equal(routerReset('natpmp', { epoch: 500, atMs: 0 }, { epoch: 3, atMs: 1000 }), true);
});

/** Upkeep on a manual clock: time moves only through `clock.advance`, so counts are exact on any machine. */
function upkeep(mapper: FakeMapper, o: Partial<Parameters<typeof keepMappings>[2]> = {}) {
  const clock = new ManualClock(0);
  const events: KeepEvent[] = [];
  const ac = new AbortController();
  const done = keepMappings(mapper, [req], {
    signal: ac.signal, announcements: false, now: () => clock.now(), setTimer: (fn, ms) => clock.setTimer(fn, ms), random: () => 0,
    onEvent: (e) => events.push(e), ...o,
  });
  return { clock, events, stop: async () => { ac.abort(); await done; return events; } };
}

async function run(mapper: FakeMapper, ms: number, o: Partial<Parameters<typeof keepMappings>[2]> = {}): Promise<KeepEvent[]> {
  const u = upkeep(mapper, { minLeaseSeconds: 0.01, checkIntervalMs: 1_000_000, retryMs: 20, ...o });
  await u.clock.advance(ms);
  return u.stop();
}

test('upkeep renews at half the lease: a 0.1 s lease is renewed every 50 ms', async () => {
  const m = new FakeMapper('natpmp', 0.1);
  const events = await run(m, 280);
  assert.equal(events[0]?.event, 'mapping.added');
  const renewals = events.filter((e) => e.event === 'mapping.renewed');
  assert.equal(renewals.length, 5, 'renewed at 50, 100, 150, 200 and 250 ms');
  assert.ok(renewals.every((e) => e.event === 'mapping.renewed' && e.renewInMs === 50));
});

test('upkeep re-creates the mapping at once when the epoch shows a router reboot', async () => {
  const m = new FakeMapper('natpmp', 10);
  const u = upkeep(m, { checkIntervalMs: 30 });
  await u.clock.advance(60);
  assert.equal(m.maps, 1);
  m.epoch = 2; // rebooted
  await u.clock.advance(40);
  const events = await u.stop();
  const reset = events.find((e) => e.event === 'router.reset');
  assert.ok(reset?.event === 'router.reset' && /epoch went from 1000 to 2/.test(reset.why), JSON.stringify(reset));
  assert.equal(m.maps, 2, 'mapped again right after the reset, not at the 5 s renewal');
  assert.equal(events.at(-1)?.event, 'mapping.renewed');
});

test('upkeep retries a failed mapping with backoff and then keeps it', async () => {
  const m = new FakeMapper('upnp', 10);
  m.failNext = 2;
  const events = await run(m, 200);
  assert.deepEqual(events.map((e) => e.event), ['mapping.failed', 'mapping.failed', 'mapping.added']);
  assert.deepEqual(events.flatMap((e) => (e.event === 'mapping.failed' ? [e.retryInMs] : [])), [20, 40], 'the backoff doubles');
});

test('upkeep removes its mappings on stop when asked, and a router announcement triggers a status check', async () => {
  const m = new FakeMapper('natpmp', 10);
  let announce: ((a: { protocol: 'natpmp'; epoch: number; address: string }) => void) | undefined;
  const u = upkeep(m, {
    removeOnStop: true, announcements: true,
    listen: async (o) => { announce = o.onAnnouncement; return { ok: true, close: () => {} }; },
    checkIntervalMs: 5, // first check takes the baseline epoch
  });
  await u.clock.advance(20);
  assert.ok(announce, 'upkeep listens for announcements');
  m.epoch = 1;
  announce({ protocol: 'natpmp', epoch: 1, address: '44.0.0.2' });
  await u.clock.advance(1);
  const events = await u.stop();
  assert.ok(events.some((e) => e.event === 'announcement'));
  assert.ok(events.some((e) => e.event === 'router.reset'));
  assert.equal(m.maps, 2, 'the announcement re-sent the mapping request');
  assert.equal(m.unmaps, 1);
  assert.equal(events.at(-1)?.event, 'mapping.removed');
});

test('upkeep reports an announcement port it cannot bind and carries on', async () => {
  const m = new FakeMapper('natpmp', 10);
  const events = await run(m, 30, { announcements: true, listen: async () => ({ ok: false, why: 'EADDRINUSE' }) });
  assert.equal(events[0]?.event, 'announcements.unavailable');
  assert.ok(events.some((e) => e.event === 'mapping.added'));
});

test('upkeep re-creates the mapping when the router answers again after a silence (a reboot with a steady epoch)', async () => {
  const m = new FakeMapper('pcp', 10);
  const u = upkeep(m, { checkIntervalMs: 20 });
  await u.clock.advance(50);
  m.down = true;
  await u.clock.advance(50);
  assert.equal(m.maps, 1);
  m.down = false;
  await u.clock.advance(50);
  const events = await u.stop();
  assert.ok(events.some((e) => e.event === 'router.status-failed'));
  const reset = events.find((e) => e.event === 'router.reset');
  assert.ok(reset?.event === 'router.reset' && /answers again after a silence/.test(reset.why));
  assert.equal(m.maps, 2);
});

test('upkeep re-creates a mapping the router no longer holds, at the next check rather than the next renewal', async () => {
  const m = new FakeMapper('upnp', 10);
  let held = true;
  (m as Mapper).holds = async () => held;
  const u = upkeep(m, { checkIntervalMs: 20 });
  await u.clock.advance(50);
  held = false;
  await u.clock.advance(40);
  held = true;
  await u.clock.advance(30);
  const events = await u.stop();
  assert.equal(events.filter((e) => e.event === 'mapping.gone').length, 2, 'checks at 60 and 80 ms found it gone');
  assert.equal(m.maps, 3, 'the first mapping, then once after each check that found it gone');
});
